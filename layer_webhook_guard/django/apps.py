"""The app config: adding ``"layer_webhook_guard.django"`` to ``INSTALLED_APPS``
registers the system checks of :mod:`.checks`. It defines no models."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class LayerWebhookGuardConfig(AppConfig):
    name = "layer_webhook_guard.django"
    label = "layer_webhook_guard"
    verbose_name = "Layer webhook guard"

    def ready(self) -> None:
        from .checks import check_middleware_order, check_settings

        # The registry is a set: registering again (apps reloaded) is harmless.
        checks.register(check_settings)
        checks.register(check_middleware_order)
