"""Django settings for the tests in this folder, without polluting the rest.

``settings.configure()`` can run once per process, so it runs only if nobody
configured Django yet (no ``DJANGO_SETTINGS_MODULE`` is ever set). Whoever
configured it, the tests of this package then run inside
``override_settings(**BASE_SETTINGS)``, which is undone after the package's
last test, and every test adds its own overrides through the ``site``
fixture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.test import override_settings

from layer_webhook_guard import WebhookRouter

from .harness import BASE_SETTINGS, Recorder, build_router


@pytest.fixture(scope="package", autouse=True)
def django_settings() -> Iterator[None]:
    if not settings.configured:
        settings.configure(**BASE_SETTINGS, DATABASES={}, LOGGING_CONFIG=None)
    if not apps.ready:
        django.setup(set_prefix=False)
    with override_settings(**BASE_SETTINGS):
        yield


@pytest.fixture
def site() -> Iterator[Callable[..., None]]:
    """``site(**settings)``: override settings until the test ends (stackable)."""
    with contextlib.ExitStack() as stack:

        def apply(**overrides: Any) -> None:
            stack.enter_context(override_settings(**overrides))

        yield apply


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def router(recorder: Recorder) -> WebhookRouter:
    return build_router(recorder)
