"""Routers that tests serve with ``layer-webhook-guard serve --router``."""

from __future__ import annotations

import time

from layer_webhook_guard import WebhookEvent, WebhookRouter

router = WebhookRouter()


@router.on("*")
def accept(event: WebhookEvent) -> None:
    print(f"handled {event.type} {event.request_id}", flush=True)


slow_router = WebhookRouter()


@slow_router.on("*")
def too_slow(event: WebhookEvent) -> None:
    time.sleep(1.3)  # past Layer's one-second deadline
