"""The framework-neutral receiver: the decision table of CONTRACT.md section 4.

Nothing here does I/O. An adapter calls :meth:`WebhookReceiver.begin` with the
request line and headers, feeds body chunks to the returned :class:`Intake`
while it asks for them, and acts on the final :class:`Decision`: send a
response, dispatch the event to the router, or forward the verified request
to the wrapped app (guard mode).

Security ordering, top to bottom:

1. Header-only checks come first (challenge, method, declared length,
   encoding, framing, a missing signature) so hostile requests cost no body
   read at all.
2. The body is read at most to ``max_body_size`` (one byte more is the proof
   that it is too large) and fed to the HMAC as it arrives.
3. Only after the MAC matches is the body joined once and parsed as JSON;
   only a parsed event with a type from the signed body reaches a handler.

Every rejection goes through one place, :func:`reject`, which logs the
reason and the body length once, never the body, signature or secret.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from ._headers import Headers, HeadersInput
from .errors import ConfigurationError, HandlerError, InvalidPayload
from .events import WebhookEvent
from .routing import SyncRunner, WebhookRouter
from .signing import SecretInput, SignatureVerifier, StreamingMAC

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "Action",
    "Decision",
    "Intake",
    "WebhookReceiver",
    "normalize_path",
    "path_matches",
    "reject",
]

logger = logging.getLogger("layer_webhook_guard")

DEFAULT_MAX_BODY_SIZE = 1_048_576
SIGNATURE_HEADER = "layer-webhook-signature"
EVENT_TYPE_HEADER = "layer-webhook-event-type"
ALLOWED_METHODS = "GET, HEAD, POST"
CHALLENGE_PARAM = b"verification_challenge"
#: A Content-Length with more digits than this is over any body limit.
_MAX_LENGTH_DIGITS = 18
_OVER_ANY_LIMIT: int = 10**_MAX_LENGTH_DIGITS
#: Default size of one read from a body stream.
READ_CHUNK = 65_536

_JSON = (("content-type", "application/json"),)
_TEXT = (("content-type", "text/plain; charset=utf-8"), ("x-content-type-options", "nosniff"))


class Action(enum.Enum):
    RESPOND = "respond"  #: send status, headers and body as they are
    DISPATCH = "dispatch"  #: router mode: run the handlers for ``event``
    FORWARD = "forward"  #: guard mode: hand the verified request to the app


@dataclass(frozen=True, slots=True)
class Decision:
    """What the adapter must do with one request."""

    action: Action
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = field(default=b"", repr=False)
    #: The verified event (DISPATCH, and FORWARD when the body is an event).
    event: WebhookEvent | None = None
    #: FORWARD only: the exact verified body, or None when no body was read.
    request_body: bytes | None = field(default=None, repr=False)
    #: Short machine-readable reason of a rejection (the ``error`` code).
    reason: str | None = None

    def response_headers(self) -> list[tuple[str, str]]:
        """``headers`` plus a Content-Length matching ``body`` (for raw servers)."""
        if self.status == 204 or 100 <= self.status < 200:
            return list(self.headers)
        return [*self.headers, ("content-length", str(len(self.body)))]


def normalize_path(path: str) -> str:
    """The configured webhook path as matched: no trailing slash."""
    if not path.startswith("/"):
        raise ConfigurationError(f"the webhook path must start with '/', got {path!r}")
    return path.rstrip("/") or "/"


_SLASHES = re.compile(r"/{2,}")


def _routable_form(path: str) -> str:
    """The path as lenient routers may match it: repeated slashes merged
    (Werkzeug), one trailing newline ignored (a regex ``$``, as Starlette's
    routes use, matches before it), trailing slashes dropped."""
    path = path.removesuffix("\n")
    return _SLASHES.sub("/", path).rstrip("/") or "/"


def path_matches(configured: str, path: str, *, guard: bool = False) -> bool:
    """Does ``path`` address the webhook path ``configured`` (a :func:`normalize_path` result)?

    Router mode (``guard=False``) matches exactly, tolerating one trailing
    slash. Guard mode must never under-match: a request the app's own router
    would route to the guarded view has to be verified first, so a path that
    only differs in ways a framework's router may ignore (``//``, a trailing
    newline) is guarded too. Over-matching merely demands a signature.
    """
    if path == configured or path == configured + "/":
        return True
    return guard and _routable_form(path) == configured


def _error_body(code: str) -> bytes:
    return b'{"error": "' + code.encode("ascii") + b'"}'


def reject(
    status: int,
    code: str,
    why: str,
    body_length: int,
    extra: Sequence[tuple[str, str]] = (),
    *,
    level: int = logging.WARNING,
) -> Decision:
    """The one place a rejection is made: JSON ``{"error": code}``, logged once.

    ``level`` is WARNING for what a request did wrong; an adapter passes
    ERROR for what the deployment did wrong (e.g. a misordered middleware).
    """
    logger.log(level, "rejected webhook request: %s (%s, HTTP %d, body %d bytes)", why, code, status, body_length)
    return Decision(Action.RESPOND, status, _JSON + tuple(extra), _error_body(code), reason=code)


def _challenge(query: str | bytes) -> bytes | None:
    """The first ``verification_challenge`` value, percent- and plus-decoded."""
    if isinstance(query, str):
        try:  # PEP 3333: QUERY_STRING carries the raw bytes as latin-1
            raw = query.encode("latin-1")
        except UnicodeEncodeError:
            raw = query.encode("utf-8", "surrogateescape")
    else:
        raw = bytes(query)
    if not raw:
        return None
    for part in raw.split(b"&"):
        name, _sep, value = part.partition(b"=")
        if unquote_to_bytes(name.replace(b"+", b" ")) == CHALLENGE_PARAM:
            return unquote_to_bytes(value.replace(b"+", b" "))
    return None


def _parse_length(values: list[str]) -> int | str | None:
    """None if absent, the length, or an error code string."""
    if not values:
        return None
    if len(values) != 1:
        return "invalid_content_length"
    text = values[0].strip()
    if not text or not text.isascii() or not text.isdigit():
        return "invalid_content_length"
    digits = text.lstrip("0") or "0"
    if len(digits) > _MAX_LENGTH_DIGITS:
        # Larger than any limit; int() of thousands of digits would raise.
        return _OVER_ANY_LIMIT
    return int(digits)


class WebhookReceiver:
    """Decides the answer to every request on the webhook path.

    With a ``router`` (router mode) verified events are dispatched and the
    receiver answers; without one (guard mode) verified requests are
    forwarded to the wrapped app with the event attached.
    """

    __slots__ = ("verifier", "router", "max_body_size")

    def __init__(
        self,
        secret: SecretInput | SignatureVerifier,
        router: WebhookRouter | None = None,
        *,
        algorithm: str = "sha1",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        if isinstance(secret, SignatureVerifier):
            self.verifier = secret
        else:
            self.verifier = SignatureVerifier(secret, algorithm=algorithm)
        if router is not None and not isinstance(router, WebhookRouter):
            raise ConfigurationError(f"router must be a WebhookRouter, not {type(router).__name__}")
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 0:
            raise ConfigurationError("max_body_size must be a non-negative number of bytes")
        self.router = router
        self.max_body_size = max_body_size

    @property
    def router_mode(self) -> bool:
        return self.router is not None

    def begin(
        self,
        method: str,
        query: str | bytes = b"",
        headers: HeadersInput = None,
        *,
        input_terminated: bool | None = None,
    ) -> Intake:
        """Start a request: run the header-only checks, return its Intake.

        ``input_terminated`` describes how the body is framed: ``None`` when
        the server delivers exactly the body and then signals its end (ASGI,
        or a framework's request stream); ``True``/``False`` for a WSGI
        ``wsgi.input`` with or without ``wsgi.input_terminated``.
        """
        hdrs = headers if isinstance(headers, Headers) else Headers(headers)
        intake = Intake(self, hdrs)
        # Methods are case-sensitive (RFC 9110): "post" is not POST.
        intake.decision = self._check_headers(intake, method, query, hdrs, input_terminated)
        return intake

    def _check_headers(
        self, intake: Intake, method: str, query: str | bytes, headers: Headers, input_terminated: bool | None
    ) -> Decision | None:
        if method in ("GET", "HEAD"):
            challenge = _challenge(query)
            if challenge is not None:
                return Decision(Action.RESPOND, 200, _TEXT, challenge)
            if self.router is None:
                return Decision(Action.FORWARD)
            return Decision(Action.RESPOND, 200, _TEXT, b"")
        if self.router is not None and method != "POST":
            return reject(405, "method_not_allowed", f"method {method} not allowed", 0, (("allow", ALLOWED_METHODS),))

        declared = _parse_length(headers.get_all("content-length"))
        if isinstance(declared, str):
            return reject(400, declared, "unreadable Content-Length", 0)
        if declared is not None and declared > self.max_body_size:
            # Nothing was read: the log's body length is 0, the reason says why.
            why = f"declared length {declared} over the {self.max_body_size}-byte limit"
            return reject(413, "payload_too_large", why, 0)
        encoding = ",".join(headers.get_all("content-encoding")).strip().lower()
        if encoding not in ("", "identity"):
            return reject(415, "unsupported_content_encoding", "body is content-encoded (not read)", 0)
        framed = any(v.strip().lower() not in ("", "identity") for v in headers.get_all("transfer-encoding"))
        if framed:
            declared = None  # RFC 9112: Transfer-Encoding overrides Content-Length
            if input_terminated is False:
                return reject(411, "length_required", "chunked body on a WSGI server without input_terminated", 0)
        elif declared is None and input_terminated is not None:
            declared = 0  # WSGI, no length and not chunked: an empty body
        intake.declared = declared

        signatures = headers.get_all(SIGNATURE_HEADER)
        if not signatures or not any(v.strip() for v in signatures):
            return reject(401, "missing_signature", "no signature header (body not read)", 0)
        # Judged after the body is read, so the size rows above keep priority.
        intake.claimed = self.verifier.parse(signatures[0]) if len(signatures) == 1 else None
        return None

    def _verified(self, headers: Headers, body: bytes) -> Decision:
        """Parse a body whose MAC matched and decide between the modes."""
        try:
            event: WebhookEvent | None = WebhookEvent.from_body(body, headers)
        except InvalidPayload as exc:
            if self.router is not None:
                return reject(400, "invalid_payload", str(exc), len(body))
            event = None  # guard mode: a verified form or other body is fine
        if event is not None:
            hinted = [v.strip() for v in headers.get_all(EVENT_TYPE_HEADER) if v.strip()]
            if any(h != event.type for h in hinted):
                return reject(400, "event_type_mismatch", "event type header differs from the signed body", len(body))
        if self.router is None:
            return Decision(Action.FORWARD, event=event, request_body=body)
        return Decision(Action.DISPATCH, event=event)

    # -- dispatch (router mode) --------------------------------------------

    def dispatch(self, decision: Decision) -> Decision:
        """Run the handlers of a DISPATCH decision; return the response."""
        if decision.action is not Action.DISPATCH:
            return decision
        router, event = self._dispatch_parts(decision)
        try:
            router.dispatch(event)
        except HandlerError:
            return self._handler_failed()
        return Decision(Action.RESPOND, 204, event=event)

    async def dispatch_async(self, decision: Decision, *, run_sync: SyncRunner | None = None) -> Decision:
        """Like :meth:`dispatch`, awaiting async handlers; sync ones go
        through ``run_sync`` (see :meth:`WebhookRouter.dispatch_async`)."""
        if decision.action is not Action.DISPATCH:
            return decision
        router, event = self._dispatch_parts(decision)
        try:
            await router.dispatch_async(event, run_sync=run_sync)
        except HandlerError:
            return self._handler_failed()
        return Decision(Action.RESPOND, 204, event=event)

    def _dispatch_parts(self, decision: Decision) -> tuple[WebhookRouter, WebhookEvent]:
        if self.router is None or decision.event is None:
            raise RuntimeError("a DISPATCH decision needs a router and an event")
        return self.router, decision.event

    @staticmethod
    def _handler_failed() -> Decision:
        # Already logged at ERROR with the traceback by the router.
        return Decision(Action.RESPOND, 500, _JSON, _error_body("handler_failed"), reason="handler_failed")

    # -- conveniences ------------------------------------------------------

    def decide(
        self, method: str, query: str | bytes = b"", headers: HeadersInput = None, body: bytes = b""
    ) -> Decision:
        """Run the checks for a request whose whole body is in memory.

        Returns the decision before dispatch (RESPOND, DISPATCH or FORWARD).
        """
        intake = self.begin(method, query, headers)
        if intake.wants_body:
            intake.feed(body)
            intake.end()
        return intake.result()

    def handle(
        self, method: str, query: str | bytes = b"", headers: HeadersInput = None, body: bytes = b""
    ) -> Decision:
        """:meth:`decide`, then run the handlers (sync) in router mode."""
        return self.dispatch(self.decide(method, query, headers, body))

    async def handle_async(
        self, method: str, query: str | bytes = b"", headers: HeadersInput = None, body: bytes = b""
    ) -> Decision:
        """:meth:`decide`, then await the handlers in router mode."""
        return await self.dispatch_async(self.decide(method, query, headers, body))

    def __repr__(self) -> str:
        mode = "router" if self.router is not None else "guard"
        return f"<WebhookReceiver {mode} mode, max_body_size={self.max_body_size}>"


class Intake:
    """One request's body intake: feed chunks while ``wants_body``."""

    __slots__ = (
        "_receiver",
        "headers",
        "decision",
        "declared",
        "claimed",
        "mac",
        "_chunks",
        "received",
        "_ended",
    )

    def __init__(self, receiver: WebhookReceiver, headers: Headers) -> None:
        self._receiver = receiver
        self.headers = headers
        self.decision: Decision | None = None
        #: Declared body length, or None when the stream decides (chunked).
        self.declared: int | None = None
        self.claimed: bytes | None = None
        self.mac: StreamingMAC | None = None
        self._chunks: list[bytes] = []
        self.received = 0
        self._ended = False

    @property
    def read_to_eof(self) -> bool:
        """No declared length: the stream's end decides where the body ends."""
        return self.declared is None

    @property
    def decided(self) -> bool:
        """True once the answer is settled (by the headers alone, or mid-body)."""
        return self.decision is not None

    @property
    def wants_body(self) -> bool:
        """True while a WSGI-style reader should read and feed more body.

        It turns False once the declared length has arrived. A reader whose
        server frames the body (ASGI) drains until the stream ends instead,
        feeding everything, so that bytes past the declared length are seen
        (and answered 400); it stops only when :meth:`feed` returns False.
        """
        if self.decision is not None or self._ended:
            return False
        return self.declared is None or self.received < self.declared

    def read_size(self, chunk: int = READ_CHUNK) -> int:
        """How many bytes to ask the stream for next (never past the cap+1)."""
        limit = self._receiver.max_body_size + 1 - self.received
        if self.declared is not None:
            limit = min(limit, self.declared - self.received)
        return max(0, min(chunk, limit))

    def feed(self, chunk: bytes) -> bool:
        """Take one chunk; an empty chunk means the stream ended.

        Returns False once a decision is made (stop reading).
        """
        if self.decision is not None:
            return False
        if not chunk:
            self.end()
            return self.decision is None
        if type(chunk) is not bytes:
            chunk = bytes(chunk)
        self.received += len(chunk)
        max_size = self._receiver.max_body_size
        if self.received > max_size:
            self.decision = reject(413, "payload_too_large", f"body grew past {max_size}", self.received)
            self._chunks.clear()
            return False
        if self.declared is not None and self.received > self.declared:
            self.decision = reject(400, "body_length_mismatch", "more body than declared", self.received)
            self._chunks.clear()
            return False
        if self.claimed is not None and self._chunks:
            # A second chunk: from here the MAC is fed as the body arrives. A
            # body that came in one piece is MACed once, in result().
            if self.mac is None:
                self.mac = self._receiver.verifier.streaming()
                self.mac.update(self._chunks[0])
            self.mac.update(chunk)
        self._chunks.append(chunk)
        return True

    def abort(self, status: int, code: str, why: str, *, level: int = logging.WARNING) -> Decision:
        """Settle the request as rejected for a reason only the adapter sees
        (the stream broke, a framework's own size limit); logged once."""
        if self.decision is None:
            self.decision = reject(status, code, why, self.received, level=level)
            self._chunks.clear()
        return self.decision

    def end(self) -> None:
        """The stream has no more body (EOF, or ``more_body`` false)."""
        self._ended = True
        if self.decision is None and self.declared is not None and self.received < self.declared:
            self.decision = reject(400, "incomplete_body", "body shorter than declared", self.received)
            self._chunks.clear()

    def result(self) -> Decision:
        """The decision for this request once the body is in."""
        if self.decision is not None:
            return self.decision
        if self.declared is not None and self.received < self.declared:
            self.end()
            if self.decision is not None:
                return self.decision
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        if self.claimed is None:
            verified = False
        elif self.mac is None:  # zero or one chunk: one-shot
            verified = self._receiver.verifier.verify_digest(body, self.claimed)
        else:
            verified = self.mac.matches(self.claimed)
        if not verified:
            self.decision = reject(401, "invalid_signature", "signature does not match", len(body))
        else:
            self.decision = self._receiver._verified(self.headers, body)
        return self.decision
