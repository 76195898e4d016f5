"""The example project under real servers on 127.0.0.1: gunicorn (WSGI),
uvicorn (ASGI) and ``manage.py runserver``, with real HTTP requests.

The handler's work is observable through the project's own status view:
``GET /deliveries/<event id>`` shows what ``record_delivery`` stored,
including the ``layer-webhook-request-id`` of the delivery it came from.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest
from support import (
    ROOT,
    SAMPLE_SECRET,
    Sample,
    free_port,
    layer_headers,
    live_server,
    python_argv,
    request,
    samples,
    stop_process,
)

EXAMPLE = ROOT / "examples" / "django_project"

SERVERS: dict[str, Callable[[int], list[str]]] = {
    "gunicorn": lambda port: python_argv(
        "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "webhook_project.wsgi:application"
    ),
    "uvicorn": lambda port: python_argv(
        "-m",
        "uvicorn",
        "webhook_project.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
    ),
    "runserver": lambda port: python_argv("manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"),
}


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    name = request.param
    port = free_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "webhook_project.settings",
        "DJANGO_DEBUG": "0",
        "LAYER_WEBHOOK_SECRET": SAMPLE_SECRET,
        "EXAMPLE_CACHE_DIR": str(tmp_path_factory.mktemp(f"cache-{name}")),
    }
    with live_server(SERVERS[name](port), port, env=env, cwd=EXAMPLE, timeout=30):
        yield name, port


def event_id(sample: Sample) -> str:
    payload = json.loads(sample.body)
    return str(payload["event"]["id"] if "event" in payload else payload["event_id"])


def delivery_headers(sample: Sample) -> dict[str, str]:
    # The signature comes from openssl (vectors.json), not from the code under test.
    return layer_headers(sample.body, sample.secret, sample.event_type, signature=sample.signature)


def test_challenge(server: tuple[str, int]) -> None:
    _name, port = server
    reply = request(port, "GET", "/layer/webhooks?verification_challenge=Zm9v%2Bbar+baz")
    assert (reply.status, reply.body) == (200, b"Zm9v+bar baz")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("sample", samples(compact=True), ids=lambda s: s.name)
def test_signed_sample_is_handled(server: tuple[str, int], sample: Sample) -> None:
    _name, port = server
    headers = delivery_headers(sample)
    reply = request(port, "POST", "/layer/webhooks", sample.body, headers)
    assert reply.status == 204, reply
    seen = request(port, "GET", f"/deliveries/{event_id(sample)}")
    assert seen.status == 200, seen
    record = json.loads(seen.body)
    assert (record["type"], record["request_id"]) == (sample.event_type, headers["layer-webhook-request-id"])


def test_tampered_sample_is_refused(server: tuple[str, int]) -> None:
    _name, port = server
    sample = next(s for s in samples(compact=True) if s.event_type == "message.sent")
    forged_id = str(uuid.uuid4())
    forged = sample.body.replace(event_id(sample).encode(), forged_id.encode())
    assert forged != sample.body
    reply = request(port, "POST", "/layer/webhooks", forged, delivery_headers(sample))
    assert (reply.status, json.loads(reply.body)) == (401, {"error": "invalid_signature"})
    assert request(port, "GET", f"/deliveries/{forged_id}").status == 404


def test_chunked_delivery(server: tuple[str, int]) -> None:
    name, port = server
    sample = next(s for s in samples(compact=True) if s.event_type == "conversation.created")
    body = sample.body
    try:
        reply = request(
            port, "POST", "/layer/webhooks", headers=delivery_headers(sample), chunks=[body[:100], body[100:]]
        )
    except (ConnectionResetError, BrokenPipeError):
        # runserver answers 411 and closes without reading a body it cannot
        # frame; the kernel may then reset the connection before the client
        # reads the answer. Nothing was accepted, which is what matters.
        assert name == "runserver"
        return
    # Django never sees a chunked body under WSGI: an honest 411, never a 401.
    assert reply.status == (204 if name == "uvicorn" else 411), reply


@pytest.mark.parametrize("name", ["gunicorn", "uvicorn"])
def test_servers_refuse_to_start_without_a_secret(name: str) -> None:
    # Django builds the middleware when the application is loaded, so the
    # ImproperlyConfigured stops the server instead of failing per request.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAYER_", "DJANGO_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "webhook_project.settings", "DJANGO_DEBUG": "0"})
    proc = subprocess.Popen(
        SERVERS[name](free_port()),
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=30)
    finally:
        stop_process(proc)
    assert proc.returncode != 0
    assert b"ImproperlyConfigured: LAYER_WEBHOOK_SECRET" in output
