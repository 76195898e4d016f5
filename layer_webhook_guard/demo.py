"""``layer-webhook-guard demo``: the guard end to end on real input.

Starts a receiver (the WSGI middleware in router mode, with example
handlers) on 127.0.0.1 under a real HTTP server, then acts exactly as Layer
does: the verification challenge, a signed delivery of every documented
sample event in both payload shapes, and the hostile requests a public
endpoint sees. Prints one table row per request and returns non-zero if any
answer differs from the contract.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from . import WebhookEvent, WebhookRouter
from .devserver import running_server
from .sender import Reply, challenge, deliver, request
from .testing import load_sample, sample_names, signed_headers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["run_demo"]

PATH = "/layer/webhooks"
MAX_BODY = 64 * 1024


@dataclass
class Row:
    request: str
    expected_status: int
    expect_handler: bool
    status: int | None = None
    handler_ran: bool = False
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == self.expected_status and self.handler_ran == self.expect_handler and not self.note


class _Seen:
    """Request ids the example handlers saw (handlers run in server threads)."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def add(self, event: WebhookEvent) -> None:
        with self._lock:
            self._ids.add(event.request_id or "")

    def __contains__(self, request_id: object) -> bool:
        with self._lock:
            return request_id in self._ids


def _not_found(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]


def _build_app(secret: str, seen: _Seen) -> Any:
    from .wsgi import WSGIWebhookMiddleware

    router = WebhookRouter()

    @router.on("message.*", "conversation.*")
    def record(event: WebhookEvent) -> None:
        # A real handler would enqueue work and dedupe by event.id.
        seen.add(event)

    return WSGIWebhookMiddleware(_not_found, secret=secret, router=router, path=PATH, max_body_size=MAX_BODY)


def _cases(url: str, secret: str) -> list[tuple[str, int, bool, Callable[[str], tuple[Reply, str]]]]:
    """(request label, expected status, handler expected, send(request_id) -> (reply, note))."""

    def post(body: bytes, headers: dict[str, str]) -> Callable[[str], tuple[Reply, str]]:
        def send(request_id: str) -> tuple[Reply, str]:
            return deliver(url, body, {**headers, "layer-webhook-request-id": request_id}), ""

        return send

    def the_challenge(_request_id: str) -> tuple[Reply, str]:
        reply, value = challenge(url)
        return reply, "" if reply.body == value.encode() else "body is not the challenge value"

    cases: list[tuple[str, int, bool, Callable[[str], tuple[Reply, str]]]] = [
        ("GET ?verification_challenge=<random>", 200, False, the_challenge)
    ]
    for name in sample_names():
        body = load_sample(name)
        event_type = name.split(".", 2)[2] if name.startswith("v1.0.") else name.removeprefix("pre-1.0.")
        shape = "1.0" if name.startswith("v1.0.") else "first public format"
        cases.append((f"POST {event_type} ({shape})", 204, True, post(body, signed_headers(body, secret, event_type))))

    body = load_sample("v1.0.message.sent")
    good = signed_headers(body, secret, "message.sent")
    tampered = body.replace(b"This is the message.", b"This is the massage.")
    wrong = signed_headers(body, secret + "-old", "message.sent")
    unsigned = {k: v for k, v in good.items() if k != "layer-webhook-signature"}
    big = b'{"event":{"type":"message.sent"},"pad":"' + b"x" * MAX_BODY + b'"}'
    not_json = b"this is not JSON"
    mismatch = signed_headers(body, secret, "message.deleted")
    cases += [
        ("POST tampered body, original signature", 401, False, post(tampered, good)),
        ("POST signed with the wrong secret", 401, False, post(body, wrong)),
        ("POST without a signature header", 401, False, post(body, unsigned)),
        (
            f"POST body over the limit (set to {MAX_BODY // 1024} KiB here)",
            413,
            False,
            post(big, signed_headers(big, secret, "message.sent")),
        ),
        (
            "POST not JSON, valid signature",
            400,
            False,
            post(not_json, signed_headers(not_json, secret, "message.sent")),
        ),
        ("POST type header differs from the body", 400, False, post(body, mismatch)),
        ("PUT on the webhook path", 405, False, lambda rid: (request(url, "PUT", body=body, headers=good), "")),
    ]
    return cases


class _Table:
    """Prints rows as they complete, in columns sized from the known labels."""

    HEADER = ("#", "request", "expected", "got", "handler ran", "")

    def __init__(self, labels: list[str], out: TextIO) -> None:
        self.out = out
        self.widths = [len(str(len(labels))), max(len(x) for x in [*labels, "request"]), 13, 9, 11, 0]
        self._print(self.HEADER)

    def _print(self, cells: tuple[str, ...]) -> None:
        line = "  ".join(c.ljust(w) for c, w in zip(cells, self.widths, strict=True)).rstrip()
        print(line, file=self.out, flush=True)

    def row(self, i: int, r: Row) -> None:
        self._print(
            (
                str(i),
                r.request,
                f"{r.expected_status}{' + handler' if r.expect_handler else ''}",
                str(r.status) if r.status is not None else "no answer",
                "yes" if r.handler_ran else "no",
                "ok" if r.ok else f"MISMATCH {r.note}".rstrip(),
            )
        )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname:<7} {record.getMessage()}")


@contextlib.contextmanager
def _collect_logs() -> Iterator[_Collect]:
    logger = logging.getLogger("layer_webhook_guard")
    handler, propagate = _Collect(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def run_demo(out: TextIO, *, delay: float = 0.0, port: int = 0) -> int:
    """Run the demo, printing a row per request to ``out``; 0 when every row is ok."""
    secret = uuid.uuid4().hex  # a fresh shared secret for this run
    seen = _Seen()
    rows: list[Row] = []
    with _collect_logs() as log, running_server(_build_app(secret, seen), "127.0.0.1", port) as server:
        url = f"http://127.0.0.1:{server.server_port}{PATH}"
        print(f"receiver listening on {url} (WSGI middleware, router mode, wsgiref server)\n", file=out, flush=True)
        cases = _cases(url, secret)
        table = _Table([c[0] for c in cases], out)
        try:
            for label, status, handler, send in cases:
                request_id = str(uuid.uuid4())
                reply, note = send(request_id)
                rows.append(Row(label, status, handler, reply.status, request_id in seen, reply.error or note))
                table.row(len(rows), rows[-1])
                if delay:
                    time.sleep(delay)
        except KeyboardInterrupt:
            print(f"\ninterrupted after {len(rows)} of {len(cases)} requests; server stopped", file=out, flush=True)
            raise
    print("\nwhat the receiver logged (reason and body length only):", file=out)
    for line in log.lines:
        print(f"  {line}", file=out)
    failed = sum(not r.ok for r in rows)
    print(file=out)
    if failed:
        print(f"{failed} of {len(rows)} requests did not get the expected answer", file=out)
        return 1
    print(f"all {len(rows)} requests answered as Layer and the contract expect; server stopped", file=out)
    return 0
