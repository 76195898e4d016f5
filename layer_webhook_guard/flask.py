"""The Flask extension: a webhook endpoint with handlers, or a guard on your own view.

What this module trusts, and why:

* Werkzeug frames the body: the request is read through ``request.stream``
  (Werkzeug's ``get_input_stream``), which never reads past
  ``CONTENT_LENGTH``, reads a body without one only when the server sets
  ``wsgi.input_terminated``, and enforces Flask's ``MAX_CONTENT_LENGTH``.
  On top of that every read is sized by the receiver (never past
  ``LAYER_WEBHOOK_MAX_BODY_SIZE + 1``), each chunk is fed to the HMAC as it
  arrives and the body is joined once. When Werkzeug's limit trips the answer
  is the contract's JSON 413; a stream that ends early is a 400.
* The receiver decides everything; this module translates requests and
  decisions. Nothing reaches a handler or a protected view before the
  signature over the exact received bytes matches.
* CSRF protection is for browser forms; a webhook is server to server and
  authenticated by its signature. The endpoint and every protected view are
  exempted from a CSRF extension registered as ``app.extensions["csrf"]``
  (Flask-WTF's ``CSRFProtect``), whichever of the two extensions is set up
  first: the exemption is (re)applied when each request starts, before any
  ``before_request`` hook runs.

Two ways to use it (``webhooks = LayerWebhooks(app)`` or ``init_app``):

* router mode: ``@webhooks.on("message.sent")`` handlers run for deliveries
  to ``LAYER_WEBHOOK_PATH`` (default ``/layer/webhooks``), which the extension
  answers itself (challenge, 405, 413, 415, 401, 400, 204, 500). Handlers run
  inside the request, so ``current_app`` and extensions work in them. Set
  ``LAYER_WEBHOOK_PATH = None`` to register no endpoint.
* guard mode: ``@webhooks.protect`` on your own view. Requests that fail
  verification never reach it; a verified one does, with
  ``request.get_data()``, ``request.get_json()`` and ``request.form`` intact
  and the event from :func:`get_event`. The guard must be the first to read
  the body (a ``before_request`` hook that reads it leaves nothing to verify:
  the request is then a 400, never let through).

Configuration (``app.config``, set with ``setdefault`` by ``init_app``;
arguments given to the constructor win): ``LAYER_WEBHOOK_SECRET`` (required),
``LAYER_WEBHOOK_ROUTER``, ``LAYER_WEBHOOK_PATH``,
``LAYER_WEBHOOK_MAX_BODY_SIZE``, ``LAYER_WEBHOOK_ALGORITHM``.
"""

from __future__ import annotations

import logging

try:
    from flask import Flask, Response, current_app, request
    from flask.signals import request_started
    from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
except ImportError as exc:  # pragma: no cover - exercised with Flask blocked
    raise ImportError(
        "layer_webhook_guard.flask needs Flask and Werkzeug: pip install 'layer-webhook-guard[flask]'"
    ) from exc

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from . import wsgi
from .errors import ConfigurationError
from .events import WebhookEvent
from .receiver import DEFAULT_MAX_BODY_SIZE, Action, Decision, WebhookReceiver, normalize_path
from .routing import WebhookRouter, load_router
from .signing import SecretInput, SignatureVerifier

__all__ = ["ENDPOINT", "EXTENSION_KEY", "LayerWebhooks", "LayerWebhooksState", "get_event"]

logger = logging.getLogger("layer_webhook_guard")

F = TypeVar("F", bound=Callable[..., Any])

#: Key of the per-app state in ``app.extensions``.
EXTENSION_KEY = "layer_webhook_guard"
#: Endpoint name of the webhook route (``url_for("layer_webhooks")``).
ENDPOINT = "layer_webhooks"

_DEFAULTS: dict[str, object] = {
    "LAYER_WEBHOOK_SECRET": None,
    "LAYER_WEBHOOK_ROUTER": None,
    "LAYER_WEBHOOK_PATH": wsgi.DEFAULT_PATH,
    "LAYER_WEBHOOK_MAX_BODY_SIZE": DEFAULT_MAX_BODY_SIZE,
    "LAYER_WEBHOOK_ALGORITHM": "sha1",
}


@dataclass(frozen=True)
class LayerWebhooksState:
    """What ``init_app`` settled for one app (``app.extensions["layer_webhook_guard"]``)."""

    extension: LayerWebhooks
    #: Router mode: answers the endpoint and dispatches to the handlers.
    receiver: WebhookReceiver
    #: Guard mode: same secret and limits, no router (used by ``protect``).
    guard: WebhookReceiver
    #: The endpoint's path, or None when no endpoint is registered.
    path: str | None


class LayerWebhooks:
    """Flask extension for Layer webhooks.

    >>> webhooks = LayerWebhooks()
    >>> @webhooks.on("message.sent")
    ... def on_message(event): ...
    >>> # later, in the app factory: webhooks.init_app(app)
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        secret: SecretInput | None = None,
        router: WebhookRouter | None = None,
        url_path: str | None = None,
    ) -> None:
        if router is not None and not isinstance(router, WebhookRouter):
            raise ConfigurationError(f"router must be a WebhookRouter, not {type(router).__name__}")
        self._secret = secret
        self._explicit_router = router is not None
        #: The router ``on``/``on_error`` register with (the given one, or our own).
        self.router = router if router is not None else WebhookRouter()
        self._own_router_used = False
        self._url_path = url_path
        self._protected: list[Callable[..., Any]] = []
        self._views_checked: dict[int, int] = {}
        if app is not None:
            self.init_app(app)

    # -- setup ---------------------------------------------------------------

    def init_app(self, app: Flask) -> None:
        """Read the ``LAYER_WEBHOOK_*`` config, register the endpoint; fail early."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("LayerWebhooks is already initialised for this app")
        for key, value in _DEFAULTS.items():
            app.config.setdefault(key, value)

        verifier = self._verifier(app)
        router = self._router(app)
        max_body_size = app.config["LAYER_WEBHOOK_MAX_BODY_SIZE"]
        try:
            receiver = WebhookReceiver(verifier, router, max_body_size=max_body_size)
            guard = WebhookReceiver(verifier, None, max_body_size=max_body_size)
        except ConfigurationError as exc:
            raise ConfigurationError(f"LAYER_WEBHOOK_MAX_BODY_SIZE: {exc}") from None

        raw_path = self._url_path if self._url_path is not None else app.config["LAYER_WEBHOOK_PATH"]
        path = None
        if raw_path is not None:
            if not isinstance(raw_path, str):
                raise ConfigurationError("LAYER_WEBHOOK_PATH must be a path such as '/layer/webhooks', or None")
            path = normalize_path(raw_path)
            self._add_endpoint(app, path)

        app.extensions[EXTENSION_KEY] = LayerWebhooksState(self, receiver, guard, path)
        self._exempt_from_csrf(app)
        # CSRFProtect may be set up after us: exempt again as each request
        # starts (request_started fires before any before_request hook).
        request_started.connect(self._on_request_started, app)
        self._swap_unprotected_views(app)

    def _verifier(self, app: Flask) -> SignatureVerifier:
        secret = self._secret if self._secret is not None else app.config["LAYER_WEBHOOK_SECRET"]
        if secret is None or _blank(secret):
            raise ConfigurationError(
                "LAYER_WEBHOOK_SECRET is not set: set app.config['LAYER_WEBHOOK_SECRET'] "
                "(or pass secret=...) to the shared secret Layer signs webhooks with"
            )
        try:
            return SignatureVerifier(secret, algorithm=app.config["LAYER_WEBHOOK_ALGORITHM"])
        except ConfigurationError as exc:
            raise ConfigurationError(f"LAYER_WEBHOOK_SECRET / LAYER_WEBHOOK_ALGORITHM: {exc}") from None

    def _router(self, app: Flask) -> WebhookRouter:
        configured = app.config["LAYER_WEBHOOK_ROUTER"]
        if self._explicit_router or configured is None:
            return self.router
        configured = load_router(configured, name="LAYER_WEBHOOK_ROUTER")
        if self._own_router_used:
            # Handlers registered with @webhooks.on would silently never run.
            raise ConfigurationError(
                "handlers were registered with @webhooks.on but LAYER_WEBHOOK_ROUTER names another router; "
                "register them on that router, or pass router= to LayerWebhooks"
            )
        return configured

    @staticmethod
    def _add_endpoint(app: Flask, path: str) -> None:
        # methods=None: the rule takes every method, so the receiver answers
        # each one as the contract says (405 with "Allow: GET, HEAD, POST")
        # instead of Flask's own 405. strict_slashes=False tolerates one
        # trailing slash without a redirect; merge_slashes=False leaves "//"
        # unmatched rather than redirecting it.
        rule = app.url_rule_class(path, endpoint=ENDPOINT, methods=None, strict_slashes=False, merge_slashes=False)
        app.url_map.add(rule)
        app.view_functions[ENDPOINT] = layer_webhook_endpoint

    def _on_request_started(self, sender: Flask, **_extra: object) -> None:
        self._exempt_from_csrf(sender)
        self._swap_unprotected_views(sender)

    def _swap_unprotected_views(self, app: Flask) -> None:
        """Serve the protected wrapper where the bare view was registered.

        ``@webhooks.protect`` written above ``@app.route`` registers the
        unprotected function; rather than serve it unverified, put the
        wrapper in its place (and say so once, so the order gets fixed).
        """
        if not self._protected or len(app.view_functions) == self._views_checked.get(id(app)):
            return
        wrappers = {id(getattr(p, "__wrapped__", None)): p for p in self._protected}
        for endpoint, view in list(app.view_functions.items()):
            wrapper = wrappers.get(id(view))
            if wrapper is not None:
                app.view_functions[endpoint] = wrapper
                logger.warning(
                    "view %r was registered without @webhooks.protect (decorator above @app.route?); "
                    "it is served protected: put @webhooks.protect below the route decorator",
                    endpoint,
                )
        self._views_checked[id(app)] = len(app.view_functions)

    def _exempt_from_csrf(self, app: Flask) -> None:
        exempt = getattr(app.extensions.get("csrf"), "exempt", None)
        if callable(exempt):
            for view in (layer_webhook_endpoint, *self._protected):
                exempt(view)

    # -- handlers ------------------------------------------------------------

    def on(self, *event_types: str) -> Callable[[F], F]:
        """Register the decorated function for one or more event types."""
        self._own_router_used = not self._explicit_router
        return self.router.on(*event_types)

    def on_error(self, hook: F) -> F:
        """Register ``hook(event, exception)``, called for each failing handler."""
        self._own_router_used = not self._explicit_router
        return self.router.on_error(hook)

    # -- guard mode ----------------------------------------------------------

    def protect(self, view: F) -> F:
        """Let only verified requests reach ``view`` (guard mode).

        The challenge GET is answered; GET/HEAD without one go to the view;
        every other method must carry a valid signature (else 413/415/401/400
        and the view never runs). The view reads the body as usual and gets
        the event from :func:`get_event`.
        """

        @functools.wraps(view)
        def protected(*args: Any, **kwargs: Any) -> Any:
            decision = _read_decision(_state().guard)
            if decision.action is not Action.FORWARD:
                return _to_response(decision)
            _replay(decision)
            return current_app.ensure_sync(view)(*args, **kwargs)

        # OPTIONS needs a signature like any method but GET/HEAD: keep Flask
        # from answering it automatically without running the guard.
        protected.provide_automatic_options = False  # type: ignore[attr-defined]
        protected.required_methods = {"OPTIONS"}  # type: ignore[attr-defined]
        self._protected.append(protected)
        return cast(F, protected)

    def __repr__(self) -> str:
        return f"<LayerWebhooks {self.router!r}>"


def _blank(secret: object) -> bool:
    """An empty or whitespace-only single secret: the same as none at all."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8", "surrogatepass")
    return isinstance(secret, (bytes, bytearray)) and not bytes(secret).strip()


def get_event() -> WebhookEvent | None:
    """The verified event of the current request in a protected view, or None."""
    event = request.environ.get(wsgi.EVENT_KEY)
    return event if isinstance(event, WebhookEvent) else None


def layer_webhook_endpoint() -> Response:
    """The view registered at ``LAYER_WEBHOOK_PATH`` (router mode)."""
    receiver = _state().receiver
    decision = receiver.dispatch(_read_decision(receiver))
    return _to_response(decision)


# -- request / response translation ------------------------------------------


def _state() -> LayerWebhooksState:
    state = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, LayerWebhooksState):
        raise RuntimeError("LayerWebhooks is not initialised for this app: call webhooks.init_app(app)")
    return state


def _read_decision(receiver: WebhookReceiver) -> Decision:
    intake = wsgi.begin(receiver, request.environ)
    if intake.wants_body:
        try:
            # Accessing request.stream applies MAX_CONTENT_LENGTH to the
            # declared length; reading it applies it to a terminated stream.
            wsgi.read_body(intake, request.stream.read)
        except RequestEntityTooLarge:
            return intake.abort(413, "payload_too_large", "over the app's MAX_CONTENT_LENGTH")
        except (ClientDisconnected, OSError, ValueError):
            return intake.abort(400, "incomplete_body", "the request body could not be read")
    return intake.result()


def _replay(decision: Decision) -> None:
    """Give the protected view the verified body and the event."""
    wsgi.forward_environ(request.environ, decision)
    body = decision.request_body
    if body is not None:
        # Werkzeug cached the stream we consumed and the length computed from
        # the old headers (None for a chunked body). Its cached_property is
        # documented as settable: point both at the verified bytes, so
        # get_data(), get_json() and form parsing see exactly them.
        request.stream = io.BytesIO(body)
        request.content_length = len(body)


def _to_response(decision: Decision) -> Response:
    response = current_app.response_class(decision.body, status=decision.status)
    if not any(name.lower() == "content-type" for name, _ in decision.headers):
        del response.headers["Content-Type"]  # a 204 has no body to describe
    for name, value in decision.headers:
        response.headers[name] = value
    # Werkzeug sends no body for HEAD and sets Content-Length itself.
    return response
