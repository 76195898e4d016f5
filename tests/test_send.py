"""``layer-webhook-guard send`` against receivers under real servers on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from support import DATA, ROOT, free_port, live_server, python_argv

SECRET = "send-test-secret-81"
CLI = [sys.executable, "-m", "layer_webhook_guard"]


def send(url: str, *args: str, secret: str = SECRET) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "send", url, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LAYER_WEBHOOK_SECRET": secret},
    )


def serve(router: str, secret: str) -> Iterator[str]:
    port = free_port()
    argv = [*CLI, "serve", "--router", f"tests.cli_routers:{router}", "--port", str(port)]
    with live_server(argv, port, env={"LAYER_WEBHOOK_SECRET": secret}):
        yield f"http://127.0.0.1:{port}/layer/webhooks"


@pytest.fixture
def good_receiver() -> Iterator[str]:
    yield from serve("router", SECRET)


@pytest.fixture
def wrong_secret_receiver() -> Iterator[str]:
    yield from serve("router", "a-different-secret")


@pytest.fixture
def slow_receiver() -> Iterator[str]:
    yield from serve("slow_router", SECRET)


def test_success_with_challenge(good_receiver: str) -> None:
    result = send(good_receiver, "--event", "message.sent", "--challenge")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "challenge: HTTP 200" in result.stdout and "echoed correctly" in result.stdout
    assert "delivery message.sent" in result.stdout and "HTTP 204" in result.stdout
    assert "Layer would count this a success" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_file_payload_exact_bytes(good_receiver: str) -> None:
    result = send(good_receiver, "--file", str(DATA / "pre-1.0" / "message.read.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "delivery message.read" in result.stdout


def test_wrong_secret_reported_as_failure(wrong_secret_receiver: str) -> None:
    result = send(wrong_secret_receiver, "--event", "message.sent")
    assert result.returncode == 1
    assert "HTTP 401" in result.stdout and "Layer would count this a failure" in result.stdout


def test_slow_receiver_reported_as_failure(slow_receiver: str) -> None:
    result = send(slow_receiver, "--event", "message.sent")
    assert result.returncode == 1
    assert "HTTP 204" in result.stdout and "too slow" in result.stdout


def test_nothing_listening_reported_as_failure() -> None:
    result = send(f"http://127.0.0.1:{free_port()}/layer/webhooks", "--event", "message.sent", "--challenge")
    assert result.returncode == 1 and "no answer" in result.stdout


def test_flask_example_under_gunicorn() -> None:
    pytest.importorskip("gunicorn")
    port = free_port()
    argv = python_argv("-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1", "examples.flask_app:create_app()")
    with live_server(argv, port, env={"LAYER_WEBHOOK_SECRET": SECRET}):
        url = f"http://127.0.0.1:{port}/layer/webhooks"
        assert send(url, "--event", "message.sent", "--challenge").returncode == 0
        assert send(url, "--event", "message.sent", secret="wrong-secret").returncode == 1


def test_starlette_example_under_uvicorn() -> None:
    pytest.importorskip("uvicorn")
    port = free_port()
    argv = python_argv("-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "examples.starlette_app:app")
    with live_server(argv, port, env={"LAYER_WEBHOOK_SECRET": SECRET}):
        url = f"http://127.0.0.1:{port}/layer/webhooks"
        assert send(url, "--event", "conversation.created", "--challenge").returncode == 0
        assert send(url + "/", "--event", "conversation.created", "--challenge").returncode == 0  # no 307
        assert send(url, "--event", "message.sent", secret="wrong-secret").returncode == 1


def test_fastapi_example_under_uvicorn() -> None:
    pytest.importorskip("fastapi")
    port = free_port()
    argv = python_argv("-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "examples.fastapi_app:app")
    with live_server(argv, port, env={"LAYER_WEBHOOK_SECRET": SECRET}):
        for url in (f"http://127.0.0.1:{port}/layer/webhooks", f"http://127.0.0.1:{port}/layer/webhooks/"):
            result = send(url, "--event", "message.read", "--challenge")
            assert result.returncode == 0, result.stdout
        assert send(url, "--event", "message.sent", secret="wrong-secret").returncode == 1


def test_undocumented_event_type_gets_a_note(good_receiver: str) -> None:
    result = send(good_receiver, "--event", "message.snt")
    assert result.returncode == 0  # the receiver acknowledged it, as Layer would see it
    assert "note: message.snt is not one of Layer's documented event types" in result.stdout
    assert "note:" not in send(good_receiver, "--event", "message.sent").stdout
