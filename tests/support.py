"""Shared test helpers: known answers, an independent signer, live servers.

Expected signatures never come from the code under test: they come from
``data/vectors.json`` (computed with openssl) or from :func:`reference_sign`,
a direct call of the standard library's HMAC written here independently.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
SAMPLE_SECRET = "1697f925ec7b1697f925ec7b"  # the example secret of Layer's docs


def load_vectors() -> dict[str, list[dict[str, object]]]:
    return json.loads((DATA / "vectors.json").read_text())


@dataclass(frozen=True)
class Sample:
    name: str  # e.g. "v1.0/message.sent.json"
    body: bytes
    secret: str
    signature: str  # from openssl, via vectors.json
    event_type: str


def samples(*, compact: bool | None = None) -> list[Sample]:
    """Layer's documented payloads with their openssl signatures."""
    found = []
    for entry in load_vectors()["files"]:
        rel = str(entry["file"]).removeprefix("samples/")
        if compact is not None and rel.startswith("compact/") != compact:
            continue
        body = (DATA / rel).read_bytes()
        assert len(body) == entry["bytes"], rel
        payload = json.loads(body)
        event_type = payload["event"]["type"] if "event" in payload else payload["event_type"]
        found.append(Sample(rel, body, str(entry["secret"]), str(entry["signature"]), event_type))
    assert found
    return found


def reference_sign(body: bytes, secret: str | bytes, algorithm: str = "sha1") -> str:
    """Independent HMAC: the standard library, called directly."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, body, getattr(hashlib, algorithm)).hexdigest()


def layer_headers(body: bytes, secret: str | bytes, event_type: str, *, signature: str | None = None) -> dict[str, str]:
    """The headers Layer sends with a delivery."""
    return {
        "content-type": "application/vnd.layer.webhooks+json; version=1.0",
        "user-agent": "layer-webhooks/1.0",
        "layer-webhook-signature": signature if signature is not None else reference_sign(body, secret),
        "layer-webhook-event-type": event_type,
        "layer-webhook-request-id": str(uuid.uuid4()),
        "layer-webhook-id": "6a3b1e49-9ef8-4a52-9a1a-0f1f0d5a7b52",
    }


def event_body(event_type: str = "message.sent", **extra: object) -> bytes:
    """A compact Layer 1.0-shaped body."""
    payload: dict[str, object] = {
        "event": {"created_at": "2015-09-17T20:46:47.561Z", "type": event_type, "id": str(uuid.uuid4())},
        "message": {"id": "layer:///messages/940de862"},
        "config": {"key1": "value1"},
    }
    payload.update(extra)
    return json.dumps(payload, separators=(",", ":")).encode()


# -- live servers -------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"server did not listen on 127.0.0.1:{port} within {timeout}s")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a process we started, by its PID (its whole group), bounded."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)


@contextlib.contextmanager
def live_server(
    argv: Sequence[str],
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` (which must listen on 127.0.0.1:``port``); always stop it."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    proc = subprocess.Popen(
        list(argv),
        cwd=str(cwd or ROOT),
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so children die too
    )
    try:
        _wait_for_port(port, proc, timeout)
        yield proc
    finally:
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    chunks: Sequence[bytes] | None = None,
    timeout: float = 10.0,
) -> Reply:
    """One real HTTP/1.1 request to 127.0.0.1:port; ``chunks`` sends it chunked."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if chunks is not None:
            conn.putrequest(method, path)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for c in chunks:
                conn.send(b"%x\r\n%s\r\n" % (len(c), c))
            conn.send(b"0\r\n\r\n")
        else:
            conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()
