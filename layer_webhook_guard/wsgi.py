"""The WSGI shell: moves a request's bytes into the receiver and its decision out.

What this module trusts, and why:

* ``wsgi.input`` is a raw socket stream. PEP 3333 lets an app read at most
  ``CONTENT_LENGTH`` bytes from it; a read past that (or an unsized
  ``read()`` on a server that does not end the stream) can block the worker
  until the client gives up. So every read here is sized by
  :meth:`Intake.read_size`, which never asks past the declared length nor
  past ``max_body_size + 1`` (the one byte more proves a body too large).
* Only a server that sets ``wsgi.input_terminated`` promises that the stream
  ends where the body ends (it decoded the chunked framing itself); only then
  is a body without ``CONTENT_LENGTH`` read to EOF. Without that promise a
  chunked request is a 411 and a request with no length and no chunking has
  an empty body: ``wsgi.input`` is not touched at all.
* The receiver decides everything (challenge, 405, 413, 415, 411, 401, 400,
  dispatch). This module only reads, replays and answers. A request on any
  other path reaches the wrapped app untouched, its body unread.

Guard mode (no router): a verified request reaches the wrapped app with
``wsgi.input`` replaced by the exact verified bytes, ``CONTENT_LENGTH`` set to
their length, ``Transfer-Encoding`` dropped and ``wsgi.input_terminated`` set
(an in-memory stream does end), and the verified event (or ``None`` for a
verified body that is not an event) in ``environ["layer_webhook_guard.event"]``.

This module needs only the standard library, so plain WSGI apps can use it
without Werkzeug. Its reads are what Werkzeug's ``LimitedStream`` guarantees
(never past ``CONTENT_LENGTH``; to EOF only on a terminated stream), done by
the receiver's read sizes instead of a wrapper. ``layer_webhook_guard.flask``
reads through Werkzeug's ``request.stream`` instead, so Flask's
``MAX_CONTENT_LENGTH`` applies there too.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, MutableMapping
from http import HTTPStatus
from typing import IO, TYPE_CHECKING, Any

from ._headers import Headers
from .receiver import DEFAULT_MAX_BODY_SIZE, Action, Decision, Intake, WebhookReceiver, normalize_path, path_matches
from .routing import WebhookRouter
from .signing import SecretInput, SignatureVerifier

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "DEFAULT_PATH",
    "EVENT_KEY",
    "WSGIWebhookMiddleware",
    "begin",
    "forward_environ",
    "read_body",
    "respond",
]

logger = logging.getLogger("layer_webhook_guard")

DEFAULT_PATH = "/layer/webhooks"
#: Key of the verified event in the environ (guard mode).
EVENT_KEY = "layer_webhook_guard.event"

_JSON = (("content-type", "application/json"),)


def begin(receiver: WebhookReceiver, environ: WSGIEnvironment) -> Intake:
    """Run the receiver's header-only checks for a WSGI request."""
    return receiver.begin(
        str(environ.get("REQUEST_METHOD") or "GET"),
        str(environ.get("QUERY_STRING") or ""),
        Headers.from_wsgi_environ(environ),
        # The core answers 411 to a chunked body the server did not decode,
        # and treats "no length, not chunked" as an empty body.
        input_terminated=bool(environ.get("wsgi.input_terminated")),
    )


def read_body(intake: Intake, read: Callable[[int], bytes]) -> None:
    """Feed ``intake`` from ``read(size)`` until it has decided or the body ended.

    Every call asks for a bounded size (see the module docstring). A stream
    may return fewer bytes than asked; only ``b""`` means the end. Errors of
    the stream itself are the caller's to catch.
    """
    while intake.wants_body:
        size = intake.read_size()
        if size <= 0:  # cannot happen while wants_body; never read(0), it looks like EOF
            break
        if not intake.feed(read(size)):
            break


def _read_decision(receiver: WebhookReceiver, environ: WSGIEnvironment) -> Decision:
    intake = begin(receiver, environ)
    if intake.wants_body:
        # PEP 3333 requires wsgi.input; a server without one sent no body.
        stream: IO[bytes] = environ.get("wsgi.input") or io.BytesIO()
        try:
            read_body(intake, stream.read)
        except (OSError, ValueError):
            # A disconnect, a broken chunked framing (servers raise OSError
            # subclasses) or a closed stream: the body is incomplete. Never
            # judge a partial body, even one that would verify.
            return intake.abort(400, "incomplete_body", "the request body could not be read")
    return intake.result()


def forward_environ(environ: MutableMapping[str, Any], decision: Decision) -> None:
    """Guard mode: make the verified body readable again and attach the event."""
    environ[EVENT_KEY] = decision.event
    body = decision.request_body
    if body is None:  # nothing was read (a GET): the original stream is intact
        return
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    # The body is no longer chunked: it is exactly these bytes, and the
    # in-memory stream ends where they end.
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = True


_STATUS_LINES = {int(s): f"{int(s)} {s.phrase}" for s in HTTPStatus}


def _status_line(status: int) -> str:
    return _STATUS_LINES.get(status) or f"{status} Unknown"


def respond(decision: Decision, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Send a RESPOND decision. A HEAD answer keeps its headers but has no body."""
    start_response(_status_line(decision.status), decision.response_headers())
    if str(environ.get("REQUEST_METHOD") or "").upper() == "HEAD" or not decision.body:
        return []
    return [decision.body]


class WSGIWebhookMiddleware:
    """Wrap a WSGI app; guard the webhook ``path`` (router or guard mode).

    With a ``router`` the middleware answers the webhook path itself and runs
    the handlers; without one it only lets verified requests through to
    ``app``. Any other path goes to ``app`` untouched. ``algorithm`` and
    ``max_body_size`` are passed to :class:`WebhookReceiver`.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        secret: SecretInput | SignatureVerifier,
        router: WebhookRouter | None = None,
        path: str = DEFAULT_PATH,
        algorithm: str = "sha1",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        self.app = app
        self.receiver = WebhookReceiver(secret, router, algorithm=algorithm, max_body_size=max_body_size)
        self.path = normalize_path(path)
        # PEP 3333: PATH_INFO holds the raw bytes decoded as latin-1, so a
        # non-ASCII configured path is compared in that same form.
        self._wsgi_path = self.path.encode("utf-8").decode("latin-1")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not path_matches(self._wsgi_path, str(environ.get("PATH_INFO") or ""), guard=not self.receiver.router_mode):
            return self.app(environ, start_response)
        decision = _read_decision(self.receiver, environ)
        if decision.action is Action.DISPATCH:
            decision = self.receiver.dispatch(decision)
        if decision.action is Action.FORWARD:
            forward_environ(environ, decision)
            return self.app(environ, start_response)
        return respond(decision, environ, start_response)

    def __repr__(self) -> str:
        return f"<WSGIWebhookMiddleware {self.path!r} {self.receiver!r}>"
