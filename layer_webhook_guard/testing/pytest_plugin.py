"""pytest fixtures for testing apps that receive Layer webhooks.

Registered automatically (``pytest11`` entry point) when the package is
installed. Override ``layer_webhook_secret`` in your ``conftest.py`` to
return the secret your app is configured with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from . import Delivery, build_delivery

DEFAULT_TEST_SECRET = "layer-webhook-test-secret"  # noqa: S105 - for tests only


@pytest.fixture
def layer_webhook_secret() -> str:
    """The secret deliveries are signed with; override it in your conftest."""
    return DEFAULT_TEST_SECRET


@pytest.fixture
def layer_delivery(layer_webhook_secret: str) -> Callable[..., Delivery]:
    """A factory: ``layer_delivery("message.sent", payload=None, **options)``."""

    def factory(event_type: str | None = None, **options: Any) -> Delivery:
        options.setdefault("secret", layer_webhook_secret)
        return build_delivery(event_type, **options)

    return factory
