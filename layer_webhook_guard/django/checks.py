"""System checks for the ``LAYER_WEBHOOK_*`` settings and the middleware order.

Registered by the app config, so they run in ``manage.py check``,
``runserver`` and ``migrate``. The ids are stable; tests and users may
silence or match them:

* ``layer_webhook_guard.E001``: ``LAYER_WEBHOOK_SECRET`` missing, empty, or
  with an empty element or a value of the wrong type.
* ``layer_webhook_guard.E002``: ``LAYER_WEBHOOK_ROUTER`` cannot be imported,
  or is not a ``WebhookRouter``.
* ``layer_webhook_guard.E003``: ``LAYER_WEBHOOK_PATH`` is not a path
  starting with ``/``.
* ``layer_webhook_guard.E004``: ``LAYER_WEBHOOK_MAX_BODY_SIZE`` is not a
  non-negative integer.
* ``layer_webhook_guard.E005``: ``LAYER_WEBHOOK_ALGORITHM`` is unknown.
* ``layer_webhook_guard.W001``: ``LAYER_WEBHOOK_MAX_BODY_SIZE`` is above
  ``DATA_UPLOAD_MAX_MEMORY_SIZE``; the smaller limit is the one enforced.
* ``layer_webhook_guard.W002``: ``LayerWebhookMiddleware`` is listed after a
  middleware known to read the request body; every signed delivery would
  then fail closed with a 500. Only known readers can be named here; any
  other is caught at request time (500 and a log line).
* ``layer_webhook_guard.W003``: the secret has leading or trailing
  whitespace; it is used as given, which is rarely what was meant.

The checks validate with the same functions the middleware uses at startup
(:mod:`.conf`), so they never disagree with it. Messages never show a secret.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import conf

__all__ = ["KNOWN_BODY_READERS", "check_middleware_order", "check_settings"]

PREFIX = "layer_webhook_guard."

#: Middleware that read ``request.body`` before calling the next one.
KNOWN_BODY_READERS = frozenset(
    {
        "request_logging.middleware.LoggingMiddleware",  # django-request-logging
        "silk.middleware.SilkyMiddleware",  # django-silk records request bodies
    }
)


def _error(msg: str, hint: str, code: str) -> checks.CheckMessage:
    return checks.Error(msg, hint=hint, id=PREFIX + code)


def _warning(msg: str, hint: str, code: str) -> checks.CheckMessage:
    return checks.Warning(msg, hint=hint, id=PREFIX + code)


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []

    algorithm = conf.DEFAULT_ALGORITHM
    try:
        algorithm = conf.resolve_algorithm()
    except ImproperlyConfigured as exc:
        found.append(_error(str(exc), "Use 'sha1' (what Layer signs with) unless you know better.", "E005"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            conf.resolve_secret(algorithm=algorithm)
        except ImproperlyConfigured as exc:
            found.append(
                _error(
                    str(exc),
                    "Set LAYER_WEBHOOK_SECRET to the webhook's secret (a string, or a list of "
                    "strings while rotating), e.g. from an environment variable.",
                    "E001",
                )
            )
    if any(issubclass(w.category, UserWarning) and "whitespace" in str(w.message) for w in caught):
        found.append(
            _warning(
                "LAYER_WEBHOOK_SECRET has leading or trailing whitespace; it is used as given.",
                "Strip the value where it is loaded (a trailing newline from a file is a common cause).",
                "W003",
            )
        )

    try:
        conf.resolve_router()
    except ImproperlyConfigured as exc:
        found.append(
            _error(
                str(exc),
                "Point LAYER_WEBHOOK_ROUTER at a module-level WebhookRouter, e.g. 'myproject.handlers.router'.",
                "E002",
            )
        )

    try:
        conf.resolve_path()
    except ImproperlyConfigured as exc:
        found.append(_error(str(exc), "Use an absolute path such as '/layer/webhooks'.", "E003"))

    try:
        max_body_size = conf.resolve_max_body_size()
    except ImproperlyConfigured as exc:
        found.append(_error(str(exc), "The default is 1048576 (1 MiB).", "E004"))
    else:
        django_cap = conf.conf.DATA_UPLOAD_MAX_MEMORY_SIZE
        if django_cap is not None and max_body_size > django_cap:
            found.append(
                _warning(
                    f"LAYER_WEBHOOK_MAX_BODY_SIZE ({max_body_size}) is above DATA_UPLOAD_MAX_MEMORY_SIZE "
                    f"({django_cap}); larger webhook bodies are refused with 413 at the smaller limit.",
                    "Lower LAYER_WEBHOOK_MAX_BODY_SIZE or raise DATA_UPLOAD_MAX_MEMORY_SIZE.",
                    "W001",
                )
            )
    return found


def _is_guard(entry: str) -> bool:
    from .middleware import LayerWebhookMiddleware

    try:
        cls = import_string(entry)
    except ImportError:
        return False  # Django's own checks and startup report unimportable entries
    return isinstance(cls, type) and issubclass(cls, LayerWebhookMiddleware)


def check_middleware_order(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    middleware = getattr(settings, "MIDDLEWARE", None) or []
    entries = [entry for entry in middleware if isinstance(entry, str)]
    for index, entry in enumerate(entries):
        if _is_guard(entry):
            readers = [e for e in entries[:index] if e in KNOWN_BODY_READERS]
            if readers:
                return [
                    _warning(
                        f"LayerWebhookMiddleware is listed after {', '.join(readers)}, which reads the request "
                        "body first; every signed delivery would be refused with a 500.",
                        "Move LayerWebhookMiddleware above it in MIDDLEWARE.",
                        "W002",
                    )
                ]
            return []
    return []
