"""examples/flask_app.py: with the test client, and live under real servers as written.

The live tests run the example exactly as its docstring says (gunicorn with
the app factory, ``python examples/flask_app.py``, ``flask --app
examples/flask_app run``) on 127.0.0.1 and a free port, drive it with real
HTTP, and see what the handlers saw in the server's log, which is how the
example reports events.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType

import pytest
from flask.testing import FlaskClient
from support import ROOT, Sample, free_port, layer_headers, live_server, samples
from support import request as http

from layer_webhook_guard import ConfigurationError

EXAMPLE = ROOT / "examples" / "flask_app.py"
HANDLED = {"message.sent", "conversation.created", "conversation.deleted"}


def handled(sample: Sample) -> bool:
    return sample.event_type in HANDLED or sample.event_type.startswith("conversation.updated.")


def delivery_headers(sample: Sample, *, signature: str | None = None) -> dict[str, str]:
    """Layer's headers for a sample, with its openssl signature and a fresh request id."""
    return layer_headers(sample.body, sample.secret, sample.event_type, signature=signature or sample.signature)


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flask_app_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setenv("LAYER_WEBHOOK_SECRET", samples()[0].secret)
    return example.create_app().test_client()


# -- with the test client --------------------------------------------------------------


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_every_documented_sample_is_accepted(
    sample: Sample, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    headers = delivery_headers(sample)
    with caplog.at_level(logging.INFO):
        response = client.post("/layer/webhooks", data=sample.body, headers=headers)
    assert response.status_code == 204
    lines = [r.getMessage() for r in caplog.records if "handled" in r.getMessage()]
    if handled(sample):
        (line,) = lines
        assert f"handled {sample.event_type} event" in line
        assert headers["layer-webhook-request-id"] in line
    else:
        assert lines == []


def test_a_tampered_sample_is_refused_and_not_handled(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    sample = samples(compact=True)[-1]
    tampered = sample.body.replace(b"layer:///messages/", b"layer:///messages/x")
    assert tampered != sample.body
    with caplog.at_level(logging.INFO):
        response = client.post("/layer/webhooks", data=tampered, headers=delivery_headers(sample))
    assert (response.status_code, response.get_json()) == (401, {"error": "invalid_signature"})
    assert not [r for r in caplog.records if "handled" in r.getMessage()]


def test_the_secret_comes_from_the_environment(example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYER_WEBHOOK_SECRET", "from-the-environment")
    app = example.create_app()
    assert app.config["LAYER_WEBHOOK_SECRET"] == "from-the-environment"
    monkeypatch.delenv("LAYER_WEBHOOK_SECRET")
    with pytest.raises(ConfigurationError, match="LAYER_WEBHOOK_SECRET"):
        example.create_app()


def test_python_example_without_the_secret_exits_with_one_clear_line() -> None:
    env = {k: v for k, v in os.environ.items() if k != "LAYER_WEBHOOK_SECRET"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "LAYER_WEBHOOK_SECRET" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


# -- live, under real servers ---------------------------------------------------------


@dataclass
class ServerLog:
    """The server's merged stdout/stderr, read without ever blocking unboundedly."""

    proc: subprocess.Popen[bytes]
    text: str = field(default="")

    def _pump(self, timeout: float) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if ready:
            chunk = os.read(fd, 65536)
            self.text += chunk.decode("utf-8", "replace")

    def wait_for(self, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} not in the server log within {timeout}s:\n{self.text}")
            self._pump(min(remaining, 0.5))
        return next(line for line in self.text.splitlines() if needle in line)


@dataclass
class Live:
    port: int
    log: ServerLog
    secret: str


SERVERS = {
    "gunicorn": lambda port: [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--graceful-timeout", "5", "examples.flask_app:create_app()",
    ],
    "python-example": lambda port: [sys.executable, "examples/flask_app.py", "--port", str(port)],
    "flask-run": lambda port: [
        sys.executable, "-m", "flask", "--app", "examples/flask_app", "run", "--port", str(port),
    ],
}  # fmt: skip


@pytest.fixture(scope="module", params=list(SERVERS))
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    secret = samples()[0].secret
    port = free_port()
    with live_server(SERVERS[request.param](port), port, env={"LAYER_WEBHOOK_SECRET": secret}) as proc:
        yield Live(port, ServerLog(proc), secret)


def test_live_challenge(live: Live) -> None:
    reply = http(live.port, "GET", "/layer/webhooks?verification_challenge=c%C3%A9+1")
    assert (reply.status, reply.body) == (200, "cé 1".encode())
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    head = http(live.port, "HEAD", "/layer/webhooks?verification_challenge=abc")
    assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "3")


def test_live_signed_sample_is_handled(live: Live) -> None:
    sample = next(s for s in samples(compact=True) if s.name == "compact/v1.0.message.sent.json")
    headers = delivery_headers(sample)
    reply = http(live.port, "POST", "/layer/webhooks", sample.body, headers)
    assert (reply.status, reply.body) == (204, b"")
    line = live.log.wait_for(headers["layer-webhook-request-id"])
    assert "handled message.sent event c12f340d-3b62-4cf1-9b93-ef4d754cfe69" in line


def test_live_tampered_sample_is_401_and_never_handled(live: Live) -> None:
    sample = next(s for s in samples(compact=True) if s.name == "compact/v1.0.conversation.created.json")
    tampered_headers = delivery_headers(sample)
    tampered = sample.body.replace(b'"type":"conversation.created"', b'"type":"conversation.deleted"')
    assert tampered != sample.body
    reply = http(live.port, "POST", "/layer/webhooks", tampered, tampered_headers)
    assert (reply.status, reply.body) == (401, b'{"error": "invalid_signature"}')
    # A valid delivery sent afterwards is logged after anything the first
    # one could have logged, so its line bounds the wait.
    good_headers = delivery_headers(sample)
    assert http(live.port, "POST", "/layer/webhooks", sample.body, good_headers).status == 204
    live.log.wait_for(good_headers["layer-webhook-request-id"])
    assert tampered_headers["layer-webhook-request-id"] not in live.log.text


def test_live_chunked_post_is_read_to_the_end_and_verified(live: Live) -> None:
    sample = next(s for s in samples(compact=True) if s.name == "compact/v1.0.conversation.deleted.json")
    headers = delivery_headers(sample)
    body = sample.body
    chunks = [body[:1], body[1:100], body[100:-7], body[-7:]]
    reply = http(live.port, "POST", "/layer/webhooks", headers=headers, chunks=chunks)
    assert reply.status == 204
    assert "handled conversation.deleted" in live.log.wait_for(headers["layer-webhook-request-id"])
    # The same chunks with one byte changed are refused.
    bad = [chunks[0], chunks[1], chunks[2][:-1] + b"?", chunks[3]]
    assert http(live.port, "POST", "/layer/webhooks", headers=delivery_headers(sample), chunks=bad).status == 401


def test_live_other_paths_reach_the_app(live: Live) -> None:
    reply = http(live.port, "GET", "/")
    assert reply.status == 200 and b"/layer/webhooks" in reply.body
    assert http(live.port, "PUT", "/layer/webhooks", b"{}", {"content-type": "application/json"}).status == 405
