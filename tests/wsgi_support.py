"""Helpers for the WSGI and Flask tests: strict streams, environs, the §4 table.

The streams here fail the test when the code under test reads in a way a real
socket would punish: an unsized ``read()`` (blocks until the client hangs up
on a server that does not end the stream), a read after EOF (a loop that
never ends), or any read at all where the contract says the body stays
unread. Violations are raised *and* recorded, so a framework that swallows
the exception into a 500 still fails the test.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from support import event_body, layer_headers, reference_sign
from werkzeug.test import EnvironBuilder

from layer_webhook_guard import PermanentError, WebhookEvent, WebhookRouter

SECRET = "wsgi-test-secret"
PATH = "/layer/webhooks"
MAX_BODY = 4096


class StrictStream:
    """A ``wsgi.input`` that only allows sized reads and no reads after EOF."""

    def __init__(self, data: bytes = b"", *, touchable: bool = True) -> None:
        self._data = io.BytesIO(data)
        self.touchable = touchable
        self.violations: list[str] = []
        self.sizes: list[int] = []
        self.served = 0
        self.eof_reads = 0

    def _violate(self, why: str) -> None:
        self.violations.append(why)
        raise AssertionError(why)

    def read(self, size: int | None = -1) -> bytes:
        if not self.touchable:
            self._violate("the body was read where it must stay unread")
        if size is None or size < 0:
            self._violate("unsized read() of wsgi.input")
        assert size is not None
        if self.eof_reads:
            self._violate("read again after EOF")
        self.sizes.append(size)
        chunk = self._data.read(size)
        if not chunk:
            self.eof_reads += 1
        self.served += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        self._violate("readline() of wsgi.input")
        return b""

    def __iter__(self) -> Iterable[bytes]:
        self._violate("iteration over wsgi.input")
        return iter(())


class FailingStream(StrictStream):
    """Serves ``data``, then raises like a server whose client went away."""

    def __init__(self, data: bytes, error: BaseException) -> None:
        super().__init__(data)
        self.error = error

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk:
            raise self.error
        return chunk


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def error(self) -> str | None:
        if self.headers.get("content-type") != "application/json":
            return None
        return str(json.loads(self.body)["error"])


def call_wsgi(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> Result:
    """Call a WSGI app the way a server does; collect status, headers and body."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
        seen["status"] = status
        seen["headers"] = headers
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    assert isinstance(seen.get("status"), str) and seen["status"][:3].isdigit(), seen
    header_map: dict[str, str] = {}
    for name, value in seen["headers"]:
        assert name.lower() not in header_map, f"duplicate header {name}"
        header_map[name.lower()] = value
    return Result(int(seen["status"][:3]), header_map, body)


# -- the CONTRACT.md §4 table --------------------------------------------------


@dataclass
class Row:
    """One request on the webhook path and the answer the contract demands."""

    method: str = "POST"
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    #: Environ keys set after the builder (framing, special streams).
    overrides: Mapping[str, Any] = field(default_factory=dict)
    status: int = 204
    #: Exact response body, when the row fixes it.
    reply: bytes | None = None
    error: str | None = None
    expect_headers: Mapping[str, str] = field(default_factory=dict)
    #: Event types the handlers must have seen (None: no check).
    dispatched: list[str] | None = None

    def builder_kwargs(self) -> dict[str, Any]:
        return {
            "path": PATH,
            "method": self.method,
            "query_string": self.query,
            "headers": list(self.headers.items()),
            "data": self.body,
            "environ_overrides": dict(self.overrides),
        }

    def environ(self) -> dict[str, Any]:
        return dict(EnvironBuilder(**self.builder_kwargs()).get_environ())


def signed(body: bytes, event_type: str | None = "message.sent", **replace: str | None) -> dict[str, str]:
    """Layer's headers for ``body``, with some replaced or (value None) removed."""
    headers = layer_headers(body, SECRET, event_type or "message.sent")
    if event_type is None:
        del headers["layer-webhook-event-type"]
    for name, value in replace.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def chunked(body: bytes, *, terminated: bool = True) -> dict[str, Any]:
    """Environ keys of a chunked request the server did (or did not) decode."""
    return {
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": StrictStream(body, touchable=terminated),
        "wsgi.input_terminated": terminated,
    }


class Recorder:
    """A router whose handlers record what they saw."""

    def __init__(self) -> None:
        self.router = WebhookRouter()
        self.seen: list[WebhookEvent] = []
        self.errors: list[tuple[str, str]] = []

        @self.router.on("message.sent", "conversation.*")
        def record(event: WebhookEvent) -> None:
            self.seen.append(event)

        @self.router.on("test.permanent")
        def give_up(event: WebhookEvent) -> None:
            self.seen.append(event)
            raise PermanentError("never retry this")

        @self.router.on("test.crash")
        def crash(event: WebhookEvent) -> None:
            self.seen.append(event)
            raise RuntimeError("handler bug with a secret detail")

        @self.router.on_error
        def hook(event: WebhookEvent, exc: BaseException) -> None:
            self.errors.append((event.type, type(exc).__name__))

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.seen]


_EV = event_body("message.sent")
_BIG = event_body("message.sent", padding="x" * MAX_BODY)
_TEXT = {"content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff"}
_ALLOW = {"allow": "GET, HEAD, POST"}


def _rows() -> list[Any]:
    ev = _EV
    bom = b"\xef\xbb\xbf" + ev
    not_json = b"definitely not json"
    array = b'[{"event": {"type": "message.sent"}}]'
    no_type = json.dumps({"event": {"id": "x"}, "message": {}}).encode()
    bad_utf8 = b'{"event": {"type": "message.sent"}, "x": "\xff\xfe"}'
    other = event_body("message.sent")
    bodies = {t: event_body(t) for t in ("nobody.listens", "conversation.created", "test.permanent", "test.crash")}
    return [
        # -- challenge and plain GET/HEAD
        pytest.param(Row("GET", "verification_challenge=abc123", status=200, reply=b"abc123",
                         expect_headers=_TEXT), id="challenge-get"),
        pytest.param(Row("GET", "verification_challenge=a%2Fb+c%21", status=200, reply=b"a/b c!"),
                     id="challenge-percent-and-plus-decoded"),
        pytest.param(Row("GET", "verification_challenge=one&verification_challenge=two", status=200, reply=b"one"),
                     id="challenge-first-value-wins"),
        pytest.param(Row("GET", "x=1&verification_challenge=deep", status=200, reply=b"deep"),
                     id="challenge-among-other-params"),
        pytest.param(Row("GET", "verification_challenge=", status=200, reply=b""), id="challenge-empty-echoed"),
        pytest.param(Row("HEAD", "verification_challenge=abc123", status=200, reply=b"",
                         expect_headers={**_TEXT, "content-length": "6"}), id="challenge-head-no-body"),
        pytest.param(Row("GET", status=200, reply=b""), id="get-without-challenge"),
        pytest.param(Row("HEAD", status=200, reply=b""), id="head-without-challenge"),
        # -- other methods
        *(
            pytest.param(Row(m, headers=signed(ev), body=ev, status=405, error="method_not_allowed",
                             expect_headers=_ALLOW, dispatched=[]), id=f"{m.lower()}-405")
            for m in ("PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND")
        ),
        # -- size, encoding, framing
        pytest.param(Row(headers=signed(_BIG), overrides={"wsgi.input": StrictStream(_BIG, touchable=False),
                                                          "CONTENT_LENGTH": str(len(_BIG))},
                         status=413, error="payload_too_large", dispatched=[]), id="declared-over-limit-413"),
        pytest.param(Row(headers=signed(ev, content_encoding="gzip"), body=ev, status=415,
                         error="unsupported_content_encoding", dispatched=[]), id="content-encoding-gzip-415"),
        pytest.param(Row(headers=signed(ev, content_encoding="identity"), body=ev, dispatched=["message.sent"]),
                     id="content-encoding-identity-ok"),
        pytest.param(Row(headers=signed(ev), overrides=chunked(ev, terminated=False), status=411,
                         error="length_required", dispatched=[]), id="chunked-not-terminated-411"),
        pytest.param(Row(headers=signed(ev), overrides=chunked(ev), dispatched=["message.sent"]),
                     id="chunked-terminated-read-to-eof"),
        pytest.param(Row(headers=signed(_BIG), overrides=chunked(_BIG), status=413, error="payload_too_large",
                         dispatched=[]), id="chunked-grows-past-limit-413"),
        pytest.param(Row(headers=signed(ev), overrides={"wsgi.input": StrictStream(ev[:-5]),
                                                        "CONTENT_LENGTH": str(len(ev))},
                         status=400, error="incomplete_body", dispatched=[]), id="shorter-than-declared-400"),
        pytest.param(Row(headers=signed(b""), overrides={"wsgi.input": StrictStream(ev, touchable=False)},
                         status=400, error="invalid_payload", dispatched=[]),
                     id="no-length-not-chunked-is-empty-body"),
        # -- signatures
        pytest.param(Row(headers=signed(ev, layer_webhook_signature=None), body=ev, status=401,
                         error="missing_signature", dispatched=[]), id="signature-missing-401"),
        pytest.param(Row(headers=signed(ev, layer_webhook_signature=""), body=ev, status=401, dispatched=[]),
                     id="signature-empty-401"),
        pytest.param(Row(headers=signed(ev, layer_webhook_signature="not-a-signature"), body=ev, status=401,
                         error="invalid_signature", dispatched=[]), id="signature-malformed-401"),
        pytest.param(Row(headers=signed(ev, layer_webhook_signature=reference_sign(other, SECRET)), body=ev,
                         status=401, error="invalid_signature", dispatched=[]), id="signature-of-other-body-401"),
        pytest.param(Row(headers=signed(ev, layer_webhook_signature=reference_sign(ev, "wrong")), body=ev,
                         status=401, error="invalid_signature", dispatched=[]), id="signature-wrong-secret-401"),
        pytest.param(Row(headers=signed(ev, layer_webhook_signature=f"{reference_sign(ev, SECRET)}, "
                                        f"{reference_sign(ev, SECRET)}"), body=ev,
                         status=401, dispatched=[]), id="signature-two-values-merged-401"),
        pytest.param(Row(headers=signed(ev, layer_webhook_signature="\xe9" * 40), body=ev, status=401,
                         dispatched=[]), id="signature-non-ascii-401"),
        pytest.param(Row(headers=signed(ev, layer_webhook_signature=reference_sign(ev, SECRET)[:-1] + "\xb9"),
                         body=ev, status=401, dispatched=[]), id="signature-non-ascii-last-char-401"),
        pytest.param(Row(headers=signed(ev, layer_webhook_signature=reference_sign(ev, SECRET).upper()), body=ev,
                         dispatched=["message.sent"]), id="signature-uppercase-hex-ok"),
        pytest.param(Row(headers=signed(ev, layer_webhook_signature="sha1=" + reference_sign(ev, SECRET)), body=ev,
                         dispatched=["message.sent"]), id="signature-sha1-prefix-ok"),
        # -- verified bodies that are not events
        pytest.param(Row(headers=signed(not_json), body=not_json, status=400, error="invalid_payload", dispatched=[]),
                     id="not-json-400"),
        pytest.param(Row(headers=signed(array), body=array, status=400, error="invalid_payload", dispatched=[]),
                     id="json-array-400"),
        pytest.param(Row(headers=signed(no_type, None), body=no_type, status=400, error="invalid_payload",
                         dispatched=[]), id="no-event-type-400"),
        pytest.param(Row(headers=signed(bad_utf8), body=bad_utf8, status=400, error="invalid_payload",
                         dispatched=[]), id="invalid-utf8-400"),
        pytest.param(Row(headers=signed(ev, layer_webhook_event_type="message.deleted"), body=ev, status=400,
                         error="event_type_mismatch", dispatched=[]), id="type-header-mismatch-400"),
        pytest.param(Row(headers=signed(bom), body=bom, dispatched=["message.sent"]), id="utf8-bom-tolerated"),
        # -- content types never change what is verified or parsed
        *(
            pytest.param(Row(headers=signed(ev, content_type=ct), body=ev, dispatched=["message.sent"]),
                         id=f"content-type-{name}")
            for name, ct in (
                ("json", "application/json"),
                ("text", "text/plain"),
                ("none", None),
                ("form-urlencoded", "application/x-www-form-urlencoded"),
            )
        ),
        # -- dispatch outcomes
        pytest.param(Row(headers=signed(bodies["nobody.listens"], "nobody.listens"),
                         body=bodies["nobody.listens"], dispatched=[]), id="no-handler-204"),
        pytest.param(Row(headers=signed(bodies["conversation.created"], "conversation.created"),
                         body=bodies["conversation.created"], dispatched=["conversation.created"]),
                     id="handler-ok-204"),
        pytest.param(Row(headers=signed(bodies["test.permanent"], "test.permanent"),
                         body=bodies["test.permanent"], dispatched=["test.permanent"]),
                     id="permanent-error-204"),
        pytest.param(Row(headers=signed(bodies["test.crash"], "test.crash"), body=bodies["test.crash"],
                         status=500, error="handler_failed", dispatched=["test.crash"]), id="handler-crash-500"),
    ]  # fmt: skip


def contract_rows() -> list[Any]:
    """Fresh rows (their streams are single-use) for one parametrised test."""
    return _rows()


def check_row(row: Row, result: Result, recorder: Recorder) -> None:
    """Assert the contract's answer for ``row``."""
    assert result.status == row.status, (result.status, result.body)
    if row.reply is not None:
        assert result.body == row.reply
    if row.error is not None:
        assert result.error == row.error
    if result.status >= 400:
        # Small JSON, nothing but the code: no traceback, secret or body.
        assert result.headers.get("content-type") == "application/json"
        assert set(json.loads(result.body)) == {"error"}
        assert SECRET.encode() not in result.body and b"Traceback" not in result.body
    if result.status == 204:
        assert result.body == b""
    for name, value in row.expect_headers.items():
        assert result.headers.get(name) == value, name
    if row.dispatched is not None:
        assert recorder.types == row.dispatched
    for value in row.overrides.values():
        if isinstance(value, StrictStream):
            assert value.violations == []
            if row.status == 413:
                assert value.served <= MAX_BODY + 1  # reading stopped at the limit
