"""Moving bytes between Django's ``HttpRequest`` and the receiver.

Trust: everything in the request is hostile until the receiver says
otherwise; this module makes no decisions. It hands the receiver the method,
the raw query string and the headers, feeds it the body in bounded chunks
read from the request stream (so the HMAC runs as the bytes arrive and no
more than the cap plus one byte is ever read), and turns the decision into an
``HttpResponse``. The middleware and the view differ only in where the
handlers run (sync or async) and what happens to a forwarded request.

Django specifics, and why:

* **The stream must be untouched.** If anything earlier in the stack read
  the body (``request.body``, ``request.POST``, ``request.read()``) the guard
  cannot see the bytes the sender signed. Verifying a cached copy would hide
  a middleware-order mistake that lets unverified data be acted on first, and
  reading the half-empty stream would answer a correctly signed delivery with
  a misleading 401. So the guard fails closed: 500, one rejection log line
  naming the middleware order, nothing dispatched or forwarded.
* **Framing.** Under WSGI Django reads exactly ``CONTENT_LENGTH`` bytes and
  treats a request without one as empty, so a chunked body never reaches
  Django: the receiver is told ``input_terminated=False`` and answers 411
  instead of a misleading 401 for the empty body. Under ASGI Django has
  already collected the whole body in a file that ends where the body ends
  (``input_terminated=None``: read to EOF, up to the cap). That file holds
  whatever the ASGI messages carried, so after the declared length one more
  byte is read: if there is one, the receiver sees more body than declared
  (400), as the contract asks of ASGI.
* **Size.** The receiver's cap is the smaller of ``LAYER_WEBHOOK_MAX_BODY_SIZE``
  and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (see :func:`.conf.body_cap`), so a body
  Django would refuse is a 413 from the receiver, never Django's
  ``RequestDataTooBig`` later.
* **Replay (guard mode).** After verification the request is left in exactly
  the state Django itself leaves it in after ``request.body`` was read:
  ``_body`` holds the bytes and ``_stream`` is a ``BytesIO`` over them.
  ``request.body`` returns ``_body`` before looking at anything else, and
  ``request.POST``, ``request.FILES`` and ``request.read()`` all work from that
  state, because every Django version must support "body read, then POST
  parsed". Resetting the private ``_read_started`` flag instead would invent
  a state Django never produces (the flag is one-way), so it is not done.
* **CSRF (guard mode).** A verified request carries an HMAC made with the
  shared secret; it was not forged by a browser riding on a user's cookies.
  It is marked with ``_dont_enforce_csrf_checks``, the flag
  ``CsrfViewMiddleware`` has honoured since Django 1.2 (its test client and
  Django REST framework set the same flag); CSRF still runs for everything
  else.
"""

from __future__ import annotations

import logging
from io import BytesIO

from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse

from .._headers import Headers
from ..receiver import Action, Decision, Intake, WebhookReceiver

__all__ = ["EVENT_ATTRIBUTE", "forward", "read_decision", "to_response"]

#: Where guard mode puts the verified event (``None`` for a non-event body).
EVENT_ATTRIBUTE = "layer_webhook_event"


def _body_already_read(intake: Intake, where: str) -> Decision:
    """The fail-closed answer when the body was read before the guard ran."""
    return intake.abort(
        500,
        "body_already_read",
        f"the request body was read before {where} ran, so its signature cannot be checked: "
        "in MIDDLEWARE, list LayerWebhookMiddleware above any middleware that reads "
        "request.body, request.POST or request.read() (nothing dispatched)",
        level=logging.ERROR,  # the deployment is wrong, not the request
    )


def _framing(request: HttpRequest) -> bool | None:
    if isinstance(request, WSGIRequest):
        return False  # Django frames WSGI bodies by CONTENT_LENGTH only
    return None  # ASGI (and other request classes): the stream ends with the body


def _query(request: HttpRequest) -> str | bytes:
    if isinstance(request, ASGIRequest):
        raw = request.scope.get("query_string", b"")
        if isinstance(raw, bytes):
            return raw  # the exact bytes, before Django decodes them
    value = request.META.get("QUERY_STRING", "")
    return value if isinstance(value, str) else ""


def read_decision(receiver: WebhookReceiver, request: HttpRequest, where: str) -> Decision:
    """Run the receiver over ``request``; the decision before dispatch."""
    framing = _framing(request)
    intake = receiver.begin(
        request.method or "",
        _query(request),
        Headers.from_wsgi_environ(request.META),
        input_terminated=framing,
    )
    if intake.wants_body:
        # Checked only when the body is needed: a GET or a header-only
        # rejection does not care what happened to the stream.
        if getattr(request, "_read_started", False) or hasattr(request, "_body"):
            return _body_already_read(intake, where)
        try:
            while intake.wants_body:
                # read_size() is never 0 while the body is wanted, and never
                # more than the cap plus the one byte that proves "too large".
                if not intake.feed(request.read(intake.read_size())):
                    break
            if framing is None and intake.declared is not None and intake.decision is None:
                # Under ASGI Django's body file holds whatever the messages
                # carried; one more byte than declared is a mismatch (400).
                extra = request.read(1)
                if extra:
                    intake.feed(extra)
        except OSError:
            # UnreadablePostError: the client went away mid-body.
            return intake.abort(400, "incomplete_body", "the request body could not be read")
    return intake.result()


def forward(request: HttpRequest, decision: Decision) -> None:
    """Guard mode: make the verified request readable and attach the event."""
    body = decision.request_body
    if body is not None:
        # The state Django leaves after reading request.body (see above).
        request._body = body
        request._stream = BytesIO(body)
        request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
    setattr(request, EVENT_ATTRIBUTE, decision.event)


def to_response(decision: Decision, request: HttpRequest) -> HttpResponse:
    """An ``HttpResponse`` for a RESPOND decision (no body for HEAD)."""
    if decision.action is not Action.RESPOND:
        raise RuntimeError(f"cannot answer a {decision.action.value} decision directly")
    if request.method == "HEAD":
        body, headers = b"", list(decision.headers)
    else:
        # With Content-Length: the middleware usually sits above
        # CommonMiddleware, which would otherwise add it.
        body, headers = decision.body, decision.response_headers()
    response = HttpResponse(body, status=decision.status)
    if not any(name.lower() == "content-type" for name, _value in headers):
        del response["Content-Type"]  # a 204 has no content to type
    for name, value in headers:
        response[name] = value
    return response
