"""Django integration: ``LayerWebhookMiddleware``, ``webhook_view`` and system checks.

Add ``"layer_webhook_guard.django"`` to ``INSTALLED_APPS`` for the system
checks, set ``LAYER_WEBHOOK_SECRET``, then either list
``"layer_webhook_guard.django.LayerWebhookMiddleware"`` in ``MIDDLEWARE`` or
route a URL to ``webhook_view(router)``. Needs the ``django`` extra.
"""

from __future__ import annotations

try:
    import django  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without Django installed
    raise ImportError("layer_webhook_guard.django needs Django: pip install 'layer-webhook-guard[django]'") from exc

from .middleware import LayerWebhookMiddleware
from .views import webhook_view

__all__ = ["LayerWebhookMiddleware", "webhook_view"]
