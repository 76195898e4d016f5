"""URLs. The webhook itself is answered by LayerWebhookMiddleware at
``LAYER_WEBHOOK_PATH``; without the middleware, route it to the view instead:

    from layer_webhook_guard.django import webhook_view
    re_path(r"^layer/webhooks/?$", webhook_view("webhook_project.handlers.router")),

(``re_path`` with ``/?`` so a URL registered with a trailing slash works too.)
"""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("deliveries/<str:event_id>", views.delivery, name="delivery"),
]
