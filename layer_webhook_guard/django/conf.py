"""The ``LAYER_WEBHOOK_*`` settings: read lazily, validated in one place.

Trust: settings are configuration written by the site's developers, but they
are still validated before use, because a wrong value must never weaken the
guard. A missing or empty secret (or an empty element of a secret list) is
``ImproperlyConfigured``, never "no check".

Nothing is read at import time. :data:`conf` reads ``django.conf.settings``
on every attribute access, so ``override_settings`` works. The middleware and
the view build their :class:`~layer_webhook_guard.WebhookReceiver` once and
keep it; :func:`generation` changes whenever Django's ``setting_changed``
signal names one of the settings below (only the test tools send it), and
they rebuild on the next request. Production requests therefore never
re-read or re-validate settings.

The same validators back the system checks in :mod:`.checks`, so a check
and a startup error never disagree.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from ..errors import ConfigurationError
from ..receiver import DEFAULT_MAX_BODY_SIZE, WebhookReceiver, normalize_path
from ..routing import WebhookRouter, load_router
from ..signing import SUPPORTED_ALGORITHMS, SignatureVerifier

__all__ = [
    "DEFAULT_PATH",
    "Conf",
    "Settled",
    "body_cap",
    "conf",
    "generation",
    "resolve_algorithm",
    "resolve_max_body_size",
    "resolve_path",
    "resolve_router",
    "resolve_secret",
    "settle",
]

DEFAULT_PATH = "/layer/webhooks"
DEFAULT_ALGORITHM = "sha1"

#: Settings whose change must rebuild a cached receiver.
WATCHED = frozenset(
    {
        "LAYER_WEBHOOK_SECRET",
        "LAYER_WEBHOOK_ROUTER",
        "LAYER_WEBHOOK_PATH",
        "LAYER_WEBHOOK_MAX_BODY_SIZE",
        "LAYER_WEBHOOK_ALGORITHM",
        "DATA_UPLOAD_MAX_MEMORY_SIZE",
    }
)


class Conf:
    """Each attribute is read from ``django.conf.settings`` when accessed.

    The attributes are named like the settings they read, with their defaults.
    """

    @property
    def LAYER_WEBHOOK_SECRET(self) -> Any:
        return getattr(settings, "LAYER_WEBHOOK_SECRET", None)

    @property
    def LAYER_WEBHOOK_ROUTER(self) -> Any:
        return getattr(settings, "LAYER_WEBHOOK_ROUTER", None)

    @property
    def LAYER_WEBHOOK_PATH(self) -> Any:
        return getattr(settings, "LAYER_WEBHOOK_PATH", DEFAULT_PATH)

    @property
    def LAYER_WEBHOOK_MAX_BODY_SIZE(self) -> Any:
        return getattr(settings, "LAYER_WEBHOOK_MAX_BODY_SIZE", DEFAULT_MAX_BODY_SIZE)

    @property
    def LAYER_WEBHOOK_ALGORITHM(self) -> Any:
        return getattr(settings, "LAYER_WEBHOOK_ALGORITHM", DEFAULT_ALGORITHM)

    @property
    def DATA_UPLOAD_MAX_MEMORY_SIZE(self) -> int | None:
        value = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return value if isinstance(value, int) and not isinstance(value, bool) else None


conf = Conf()

_counter = itertools.count(1)
_generation = next(_counter)


def generation() -> int:
    """Changes whenever a watched setting is overridden or restored."""
    return _generation


def _settings_changed(*, setting: str, **kwargs: object) -> None:
    global _generation
    if setting in WATCHED:
        _generation = next(_counter)


# A module-level function, held strongly: it must live as long as the module.
setting_changed.connect(_settings_changed, weak=False, dispatch_uid="layer_webhook_guard.django.conf")


# -- validators (each raises ImproperlyConfigured with a message that never
#    shows a secret) ------------------------------------------------------------


def resolve_algorithm(value: object = None) -> str:
    algorithm = conf.LAYER_WEBHOOK_ALGORITHM if value is None else value
    if not isinstance(algorithm, str) or algorithm.lower() not in SUPPORTED_ALGORITHMS:
        raise ImproperlyConfigured(
            f"LAYER_WEBHOOK_ALGORITHM: unknown algorithm {algorithm!r}; "
            f"use one of {', '.join(sorted(SUPPORTED_ALGORITHMS))}"
        )
    return algorithm.lower()


def resolve_secret(value: object = None, *, algorithm: str = DEFAULT_ALGORITHM) -> SignatureVerifier:
    """The verifier for ``value`` (default: ``LAYER_WEBHOOK_SECRET``)."""
    name = "LAYER_WEBHOOK_SECRET" if value is None else "the webhook secret argument"
    secret = conf.LAYER_WEBHOOK_SECRET if value is None else value
    if isinstance(secret, Sequence) and not isinstance(secret, (str, bytes, bytearray)):
        secret = list(secret)  # a tuple or list of secrets: rotation
    try:
        return SignatureVerifier(secret, algorithm=algorithm)  # type: ignore[arg-type]
    except ConfigurationError as exc:
        # The core's messages never contain the secret; keep it that way.
        raise ImproperlyConfigured(f"{name}: {exc}") from None


def resolve_router(value: object = None) -> WebhookRouter | None:
    """A router from a ``WebhookRouter`` or its dotted path; None = guard mode."""
    name = "LAYER_WEBHOOK_ROUTER" if value is None else "the router argument"
    router = conf.LAYER_WEBHOOK_ROUTER if value is None else value
    if router is None:
        return None
    try:
        return load_router(router, name=name)
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from exc.__cause__


def resolve_path(value: object = None) -> str:
    path = conf.LAYER_WEBHOOK_PATH if value is None else value
    if not isinstance(path, str):
        raise ImproperlyConfigured(f"LAYER_WEBHOOK_PATH must be a string, not {type(path).__name__}")
    try:
        return normalize_path(path)
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"LAYER_WEBHOOK_PATH: {exc}") from None


def resolve_max_body_size(value: object = None) -> int:
    size = conf.LAYER_WEBHOOK_MAX_BODY_SIZE if value is None else value
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ImproperlyConfigured("LAYER_WEBHOOK_MAX_BODY_SIZE must be a non-negative number of bytes")
    return size


def body_cap(max_body_size: int) -> int:
    """The limit the receiver enforces: ours, or Django's if that is smaller.

    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is the site's own ceiling for a body held
    in memory. Enforcing the smaller of the two while reading means a body
    Django would refuse is answered 413 by the receiver, instead of Django
    raising ``RequestDataTooBig`` (a 400/500) when a view reads it later.
    """
    django_cap = conf.DATA_UPLOAD_MAX_MEMORY_SIZE
    return max_body_size if django_cap is None else min(max_body_size, django_cap)


@dataclass(frozen=True, slots=True)
class Settled:
    """A receiver and path built from the settings of one generation."""

    generation: int
    receiver: WebhookReceiver
    path: str


def settle(*, secret: object = None, router: object = None, require_router: bool = False) -> Settled:
    """Build the receiver from settings; explicit arguments take precedence.

    ``secret`` / ``router`` None read ``LAYER_WEBHOOK_SECRET`` /
    ``LAYER_WEBHOOK_ROUTER``. Raises ``ImproperlyConfigured``.
    """
    current = generation()  # read first: a change while building rebuilds again
    verifier = resolve_secret(secret, algorithm=resolve_algorithm())
    resolved = resolve_router(router)
    if require_router and resolved is None:
        raise ImproperlyConfigured("webhook_view needs a router: pass webhook_view(router) or set LAYER_WEBHOOK_ROUTER")
    receiver = WebhookReceiver(verifier, resolved, max_body_size=body_cap(resolve_max_body_size()))
    return Settled(current, receiver, resolve_path())
