"""The examples under a real uvicorn on 127.0.0.1, spoken to over real HTTP.

Each example runs exactly as its docstring says (``uvicorn
examples.<name>:app`` from the repository root, the secret in
LAYER_WEBHOOK_SECRET). What the handlers saw is read back from the
example's ``GET /deliveries``. The server is started once per example and
always stopped by its PID; every request has a timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support import (
    ROOT,
    SAMPLE_SECRET,
    Reply,
    event_body,
    free_port,
    layer_headers,
    live_server,
    python_argv,
    request,
    samples,
)

PATH = "/layer/webhooks"
EXAMPLES = ["starlette_app", "fastapi_app"]
CONCURRENT = 50


def uvicorn_argv(module: str, port: int) -> list[str]:
    script = Path(sys.executable).with_name("uvicorn")
    head = [str(script)] if script.exists() else python_argv("-m", "uvicorn")
    return [*head, f"examples.{module}:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]


@pytest.fixture(scope="module", params=EXAMPLES)
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    with live_server(uvicorn_argv(request.param, port), port, env={"LAYER_WEBHOOK_SECRET": SAMPLE_SECRET}):
        yield port


def deliveries(port: int) -> dict[str, list[dict[str, Any]]]:
    """What the handlers saw, by request id."""
    reply = request(port, "GET", "/deliveries")
    assert reply.status == 200
    seen: dict[str, list[dict[str, Any]]] = {}
    for entry in json.loads(reply.body):
        seen.setdefault(entry["request_id"], []).append(entry)
    return seen


def post(port: int, body: bytes, headers: dict[str, str], **kwargs: Any) -> Reply:
    return request(port, "POST", PATH, body, headers, **kwargs)


def test_challenge(port: int) -> None:
    reply = request(port, "GET", f"{PATH}?verification_challenge=ch%26allenge+1")
    assert (reply.status, reply.body) == (200, b"ch&allenge 1")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["x-content-type-options"] == "nosniff"
    head = request(port, "HEAD", f"{PATH}?verification_challenge=abc")
    assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "3")


def test_signed_documented_sample(port: int) -> None:
    sample = next(s for s in samples(compact=False) if s.name == "v1.0/message.sent.json")
    headers = layer_headers(sample.body, SAMPLE_SECRET, sample.event_type, signature=sample.signature)
    reply = post(port, sample.body, headers)
    assert (reply.status, reply.body) == (204, b"")
    [seen] = deliveries(port)[headers["layer-webhook-request-id"]]
    assert seen["type"] == "message.sent"
    assert seen["bytes"] == len(sample.body)
    assert seen["sha256"] == hashlib.sha256(sample.body).hexdigest()


def test_tampered_delivery(port: int) -> None:
    sample = next(s for s in samples(compact=False) if s.name == "v1.0/message.sent.json")
    headers = layer_headers(sample.body, SAMPLE_SECRET, sample.event_type, signature=sample.signature)
    tampered = sample.body.replace(b"value1", b"value2")
    assert tampered != sample.body
    reply = post(port, tampered, headers)
    assert reply.status == 401
    assert json.loads(reply.body) == {"error": "invalid_signature"}
    assert headers["layer-webhook-request-id"] not in deliveries(port)


def test_non_ascii_signature(port: int) -> None:
    body = event_body()
    headers = layer_headers(body, SAMPLE_SECRET, "message.sent", signature="\u00e9" * 40)  # sent as latin-1
    reply = post(port, body, headers)
    assert reply.status == 401
    assert headers["layer-webhook-request-id"] not in deliveries(port)


def test_chunked_post(port: int) -> None:
    body = event_body("message.sent")
    headers = layer_headers(body, SAMPLE_SECRET, "message.sent")
    reply = post(port, b"", headers, chunks=[body[i : i + 17] for i in range(0, len(body), 17)])
    assert reply.status == 204
    [seen] = deliveries(port)[headers["layer-webhook-request-id"]]
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()


def test_concurrent_deliveries_each_see_their_own_body(port: int) -> None:
    bodies = [event_body("message.sent", note=f"delivery {i} " + "x" * i) for i in range(CONCURRENT)]
    headers = [layer_headers(body, SAMPLE_SECRET, "message.sent") for body in bodies]
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(post, port, b, h, timeout=20.0) for b, h in zip(bodies, headers, strict=True)]
        statuses = [future.result(timeout=60) for future in futures]
    assert [reply.status for reply in statuses] == [204] * CONCURRENT
    seen = deliveries(port)
    for body, sent_headers in zip(bodies, headers, strict=True):
        [entry] = seen[sent_headers["layer-webhook-request-id"]]
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["id"] == json.loads(body)["event"]["id"]


def test_example_refuses_to_start_without_a_secret() -> None:
    env = {k: v for k, v in os.environ.items() if k != "LAYER_WEBHOOK_SECRET"}
    port = free_port()
    done = subprocess.run(
        uvicorn_argv("starlette_app", port),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert done.returncode != 0
    assert "LAYER_WEBHOOK_SECRET is not set" in done.stdout + done.stderr
