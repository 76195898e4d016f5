"""The small server behind ``demo`` and ``serve``."""

from __future__ import annotations

import socket
import time

from layer_webhook_guard import WebhookRouter
from layer_webhook_guard.devserver import running_server
from layer_webhook_guard.wsgi import WSGIWebhookMiddleware


def not_found(environ: object, start_response: object) -> list[bytes]:
    raise AssertionError("not reached")


def test_stalled_client_is_dropped() -> None:
    app = WSGIWebhookMiddleware(not_found, secret="devserver-secret", router=WebhookRouter())  # type: ignore[arg-type]
    with (
        running_server(app, request_timeout=0.5) as server,
        socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock,
    ):
        sock.sendall(
            b"POST /layer/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b"layer-webhook-signature: " + b"0" * 40 + b"\r\n\r\nab"
        )
        start = time.monotonic()
        data = b""
        while time.monotonic() - start < 8:  # bounded: the server must give up long before
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        else:
            raise AssertionError("the server kept a stalled connection open")
    # It either answered the short body (400) or just closed; it never hung.
    assert data == b"" or (data.startswith(b"HTTP/1.") and b" 400 " in data.split(b"\r\n", 1)[0])
