"""Helpers for the ASGI, Starlette and FastAPI tests.

A hand-written ASGI channel (a scripted ``receive`` that counts its calls and
a ``send`` that records messages), a probe app for guard mode, a recording
router, and the rows of CONTRACT.md section 4 as data so the same table runs
through the bare middleware, the bare app and every framework mounting.
Signatures come from ``support.reference_sign`` or the openssl vectors,
never from the code under test.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

import httpx
import pytest
from support import ROOT, SAMPLE_SECRET, event_body, layer_headers, reference_sign

from layer_webhook_guard import PermanentError, WebhookEvent, WebhookRouter

T = TypeVar("T")
Message = dict[str, Any]
HeaderList = list[tuple[bytes, bytes]]

SECRET = SAMPLE_SECRET
PATH = "/layer/webhooks"
#: A small cap so the size rows need no megabyte bodies.
MAX_BODY = 4096
TIMEOUT = 10.0


def run(coro: Coroutine[Any, Any, T], timeout: float = TIMEOUT) -> T:
    """Run a coroutine on a fresh event loop; a hang fails instead of blocking."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Client:
    """A small synchronous client over httpx's ASGI transport (no server, no lifespan)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.request(method, url, **kwargs)

        return run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


# -- the channel ----------------------------------------------------------------


def body_messages(body: bytes, parts: int = 1) -> list[Message]:
    """``body`` as ``parts`` http.request messages (the last one ends the body)."""
    size = max(1, -(-len(body) // parts)) if body else 1
    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    return chunk_messages(pieces)


def chunk_messages(pieces: Sequence[bytes]) -> list[Message]:
    last = len(pieces) - 1
    return [{"type": "http.request", "body": p, "more_body": i != last} for i, p in enumerate(pieces)]


@dataclass
class Channel:
    """A scripted ASGI connection: what the client sends, what the app answered."""

    script: list[Message] = field(default_factory=list)
    #: What receive() gives once the script is used up (the client left).
    then: Message = field(default_factory=lambda: {"type": "http.disconnect"})
    receive_calls: int = 0
    sent: list[Message] = field(default_factory=list)

    async def receive(self) -> Message:
        self.receive_calls += 1
        if self.receive_calls <= len(self.script):
            return dict(self.script[self.receive_calls - 1])
        return dict(self.then)

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return int(starts[0]["status"]) if starts else None

    @property
    def headers(self) -> dict[str, str]:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.sent
        return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in starts[0].get("headers", [])}

    def header_list(self, name: str) -> list[str]:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return [v.decode("latin-1") for k, v in starts[0].get("headers", []) if k.decode("latin-1").lower() == name]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def http_scope(
    method: str = "POST",
    path: str = PATH,
    *,
    query: bytes = b"",
    headers: Iterable[tuple[bytes, bytes]] = (),
    root_path: str = "",
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": query,
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    if state is not None:
        scope["state"] = state
    return scope


async def call(app: Callable[..., Awaitable[None]], scope: dict[str, Any], channel: Channel) -> Channel:
    await app(scope, channel.receive, channel.send)
    return channel


def asgi_headers(headers: dict[str, str] | Iterable[tuple[str, str]], body: bytes | None = None) -> HeaderList:
    """Byte header pairs; adds a matching Content-Length when ``body`` is given."""
    pairs = headers.items() if isinstance(headers, dict) else headers
    out = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
    if body is not None:
        out.append((b"content-length", str(len(body)).encode()))
    return out


def signed_headers(body: bytes, event_type: str = "message.sent", *, secret: str = SECRET) -> HeaderList:
    return asgi_headers(layer_headers(body, secret, event_type), body)


# -- a recording router and a probe app --------------------------------------------


@dataclass
class Recorder:
    """What the handlers saw: (handler name, event) in call order, and their threads."""

    calls: list[tuple[str, WebhookEvent]] = field(default_factory=list)
    threads: dict[str, int] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def recording_router() -> tuple[WebhookRouter, Recorder]:
    """message.sent: async ok; message.delivered: sync ok; message.deleted:
    PermanentError; message.read: crash; conversation.*: no handler."""
    router = WebhookRouter()
    seen = Recorder()

    @router.on("message.sent")
    async def sent(event: WebhookEvent) -> None:
        seen.calls.append(("sent", event))
        seen.threads["sent"] = threading.get_ident()

    @router.on("message.delivered")
    def delivered(event: WebhookEvent) -> None:
        seen.calls.append(("delivered", event))
        seen.threads["delivered"] = threading.get_ident()

    @router.on("message.deleted")
    def deleted(event: WebhookEvent) -> None:
        seen.calls.append(("deleted", event))
        raise PermanentError("gone for good")

    @router.on("message.read")
    async def read(event: WebhookEvent) -> None:
        seen.calls.append(("read", event))
        raise RuntimeError("database down")

    return router, seen


@dataclass
class ProbeApp:
    """The wrapped app in guard mode: records each call, reads the body, echoes it.

    ``read_body=False`` makes it a route that never touches the body;
    ``listen_after=True`` makes it call receive() once more after the body
    (as a streaming response waiting for a disconnect does).
    """

    read_body: bool = True
    listen_after: bool = False
    scopes: list[dict[str, Any]] = field(default_factory=list)
    receives: list[Callable[[], Awaitable[Message]]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    after: list[Message] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        self.scopes.append(scope)
        self.receives.append(receive)
        if scope["type"] != "http":
            return
        body = b""
        if self.read_body:
            while True:
                message = await receive()
                self.messages.append(message)
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
            if self.listen_after:
                self.after.append(await receive())
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": [(b"x-probe", b"yes")]})
        await send({"type": "http.response.body", "body": body})


# -- CONTRACT.md section 4, router mode, as data ---------------------------------------


@dataclass(frozen=True)
class Row:
    method: str = "POST"
    query: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    chunks: tuple[bytes, ...] = (b"",)
    status: int = 204
    #: The JSON error code of a rejection.
    error: str | None = None
    #: The exact response body (checked when not None).
    body: bytes | None = None
    #: Response headers that must be present with these values.
    expect_headers: tuple[tuple[str, str], ...] = ()
    #: Handler names that must have run, in order.
    handled: tuple[str, ...] = ()
    #: receive() calls the receiver may make (None: not checked).
    receive_calls: int | None = None

    def messages(self) -> list[Message]:
        return chunk_messages(self.chunks)


def _signed(body: bytes, event_type: str = "message.sent", *, parts: int = 1, **overrides: str) -> dict[str, Any]:
    headers = layer_headers(body, SECRET, event_type)
    headers.update(overrides)
    size = max(1, -(-len(body) // parts))
    chunks = tuple(body[i : i + size] for i in range(0, len(body), size)) or (b"",)
    return {"headers": tuple(asgi_headers(headers, body)), "chunks": chunks}


def _unsigned(body: bytes, *extra: tuple[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    headers = {k: v for k, v in layer_headers(body, SECRET, "message.sent").items() if k != "layer-webhook-signature"}
    own_length = any(name == "content-length" for name, _ in extra)
    return (*asgi_headers(headers, None if own_length else body), *asgi_headers(list(extra)))


_TEXT = (("content-type", "text/plain; charset=utf-8"), ("x-content-type-options", "nosniff"))
_ALLOW = (("allow", "GET, HEAD, POST"),)


def _router_rows() -> list[Any]:
    sent = event_body("message.sent")
    delivered = event_body("message.delivered")
    wrong_sig = reference_sign(sent, "another-secret")
    good_sig = reference_sign(sent, SECRET)
    big = event_body("message.sent", padding="x" * MAX_BODY)
    p = pytest.param
    return [
        p(
            Row("GET", b"verification_challenge=abc123", status=200, body=b"abc123", expect_headers=_TEXT),
            id="challenge-get",
        ),
        p(
            Row(
                "HEAD",
                b"verification_challenge=abc123",
                status=200,
                body=b"",
                expect_headers=(*_TEXT, ("content-length", "6")),
            ),
            id="challenge-head-no-body",
        ),
        p(
            Row("GET", b"verification_challenge=a%20b%2Bc%C3%A9", status=200, body="a b+cé".encode()),
            id="challenge-percent-decoded",
        ),
        p(Row("GET", b"verification_challenge=a+b", status=200, body=b"a b"), id="challenge-plus-is-space"),
        p(
            Row("GET", b"x=1&verification_challenge=one&verification_challenge=two", status=200, body=b"one"),
            id="challenge-first-value-wins",
        ),
        p(Row("GET", b"verification_challenge=", status=200, body=b""), id="challenge-empty-echoed"),
        p(Row("GET", status=200, body=b"", receive_calls=0), id="get-without-challenge"),
        p(Row("HEAD", status=200, body=b""), id="head-without-challenge"),
        p(
            Row("PUT", **_signed(sent), status=405, error="method_not_allowed", expect_headers=_ALLOW, receive_calls=0),
            id="put-405",
        ),
        p(Row("DELETE", status=405, error="method_not_allowed", expect_headers=_ALLOW), id="delete-405"),
        p(Row("PATCH", status=405, error="method_not_allowed", expect_headers=_ALLOW), id="patch-405"),
        p(Row("OPTIONS", status=405, error="method_not_allowed", expect_headers=_ALLOW), id="options-405"),
        p(
            Row(
                headers=tuple(
                    asgi_headers({**layer_headers(sent, SECRET, "message.sent"), "content-length": str(MAX_BODY + 1)})
                ),
                chunks=(sent,),
                status=413,
                error="payload_too_large",
                receive_calls=0,
            ),
            id="declared-length-over-limit",
        ),
        p(
            Row(
                headers=_unsigned(sent, ("content-length", str(MAX_BODY + 1))),
                chunks=(sent,),
                status=413,
                error="payload_too_large",
                receive_calls=0,
            ),
            id="declared-over-limit-before-signature",
        ),
        p(
            Row(
                **_signed(sent, **{"content-encoding": "gzip"}),
                status=415,
                error="unsupported_content_encoding",
                receive_calls=0,
            ),
            id="gzip-415",
        ),
        p(Row(**_signed(sent, **{"content-encoding": "identity"}), handled=("sent",)), id="identity-encoding-ok"),
        p(
            Row(
                headers=tuple(
                    asgi_headers({**layer_headers(big, SECRET, "message.sent"), "transfer-encoding": "chunked"})
                ),
                chunks=tuple(big[i : i + 1000] for i in range(0, len(big), 1000)),
                status=413,
                error="payload_too_large",
                receive_calls=5,
            ),
            id="chunked-body-over-limit-stops-reading",
        ),
        p(
            Row(
                headers=tuple(
                    asgi_headers({**layer_headers(sent, SECRET, "message.sent"), "content-length": str(len(sent) + 10)})
                ),
                chunks=(sent,),
                status=400,
                error="incomplete_body",
            ),
            id="body-shorter-than-declared",
        ),
        p(
            Row(
                headers=tuple(
                    asgi_headers({**layer_headers(sent, SECRET, "message.sent"), "content-length": str(len(sent) - 10)})
                ),
                chunks=(sent,),
                status=400,
                error="body_length_mismatch",
            ),
            id="body-longer-than-declared",
        ),
        p(
            Row(headers=_unsigned(sent), chunks=(sent,), status=401, error="missing_signature", receive_calls=0),
            id="signature-missing",
        ),
        p(
            Row(
                headers=_unsigned(sent, ("layer-webhook-signature", "")),
                chunks=(sent,),
                status=401,
                error="missing_signature",
            ),
            id="signature-empty",
        ),
        p(
            Row(
                headers=_unsigned(sent, ("layer-webhook-signature", "not-hex")),
                chunks=(sent,),
                status=401,
                error="invalid_signature",
            ),
            id="signature-malformed",
        ),
        p(
            Row(
                headers=_unsigned(sent, ("layer-webhook-signature", good_sig[:-2])),
                chunks=(sent,),
                status=401,
                error="invalid_signature",
            ),
            id="signature-too-short",
        ),
        p(
            Row(
                headers=_unsigned(sent, ("layer-webhook-signature", wrong_sig)),
                chunks=(sent,),
                status=401,
                error="invalid_signature",
            ),
            id="signature-wrong-secret",
        ),
        p(
            Row(
                headers=_unsigned(sent, ("layer-webhook-signature", good_sig), ("layer-webhook-signature", good_sig)),
                chunks=(sent,),
                status=401,
                error="invalid_signature",
            ),
            id="signature-two-headers",
        ),
        p(
            Row(
                headers=_unsigned(sent, ("layer-webhook-signature", f"{good_sig},{good_sig}")),
                chunks=(sent,),
                status=401,
                error="invalid_signature",
            ),
            id="signature-merged-values",
        ),
        p(
            Row(
                headers=(*_unsigned(sent), (b"layer-webhook-signature", good_sig[:-1].encode() + b"\xe9")),
                chunks=(sent,),
                status=401,
                error="invalid_signature",
            ),
            id="signature-non-ascii-byte",
        ),
        p(
            Row(
                headers=(*_unsigned(sent), (b"layer-webhook-signature", "\u0661".encode() * 40)),
                chunks=(sent,),
                status=401,
                error="invalid_signature",
            ),
            id="signature-utf8-digits",
        ),
        p(
            Row(**_signed(sent, **{"layer-webhook-signature": "SHA1=" + good_sig.upper()}), handled=("sent",)),
            id="signature-prefixed-uppercase-ok",
        ),
        p(Row(**_signed(b"not json"), status=400, error="invalid_payload"), id="body-not-json"),
        p(Row(**_signed(b"[1, 2]"), status=400, error="invalid_payload"), id="body-json-array"),
        p(Row(**_signed(b'{"event": {"id": "x"}}'), status=400, error="invalid_payload"), id="body-without-event-type"),
        p(
            Row(**_signed(b'{"event": {"type": "message.sent", "id": "\xff"}}'), status=400, error="invalid_payload"),
            id="body-invalid-utf8",
        ),
        p(
            Row(**_signed(sent, "message.read"), status=400, error="event_type_mismatch"),
            id="type-header-names-another-type",
        ),
        p(Row(**_signed(b"\xef\xbb\xbf" + sent), handled=("sent",)), id="utf8-bom-tolerated"),
        p(Row(**_signed(sent, **{"content-type": "text/plain"}), handled=("sent",)), id="json-whatever-content-type"),
        p(Row(**_signed(sent, parts=7), handled=("sent",)), id="body-split-over-messages"),
        p(Row(**_signed(event_body("conversation.created"), "conversation.created")), id="no-handler-204"),
        p(Row(**_signed(delivered, "message.delivered"), handled=("delivered",)), id="sync-handler-204"),
        p(
            Row(**_signed(event_body("message.deleted"), "message.deleted"), handled=("deleted",)),
            id="permanent-error-204",
        ),
        p(
            Row(
                **_signed(event_body("message.read"), "message.read"),
                status=500,
                error="handler_failed",
                handled=("read",),
            ),
            id="handler-crash-500",
        ),
    ]


ROUTER_ROWS = _router_rows()


def check_row(row: Row, channel: Channel, seen: Recorder) -> None:
    """Assert one router-mode row against what the channel and handlers saw."""
    assert channel.status == row.status, (channel.status, channel.body)
    headers = channel.headers
    for name, value in row.expect_headers:
        assert headers.get(name) == value, (name, headers)
    if row.body is not None:
        assert channel.body == row.body
    if row.error is not None:
        assert json.loads(channel.body) == {"error": row.error}
        assert headers["content-type"] == "application/json"
        for secret_thing in (SECRET.encode(), b"Traceback"):
            assert secret_thing not in channel.body
    if row.status == 204:
        assert channel.body == b""
    assert tuple(seen.names()) == row.handled
    if row.receive_calls is not None:
        assert channel.receive_calls == row.receive_calls


def router_row_request(row: Row, path: str = PATH) -> tuple[dict[str, Any], Channel]:
    return http_scope(row.method, path, query=row.query, headers=row.headers), Channel(row.messages())


# -- the examples ------------------------------------------------------------------------


def load_example(name: str, monkeypatch: pytest.MonkeyPatch, secret: str | None = SECRET) -> ModuleType:
    """Import ``examples/<name>.py`` afresh with LAYER_WEBHOOK_SECRET set (or unset)."""
    if secret is None:
        monkeypatch.delenv("LAYER_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("LAYER_WEBHOOK_SECRET", secret)
    module_name = f"_example_{name}"
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, module_name, module)
    spec.loader.exec_module(module)
    return module
