"""Webhook handlers. Each receives one verified ``WebhookEvent``.

``record_delivery`` stores every event in Django's cache under its event id.
Layer retries a failed delivery with the same event, so a retry overwrites
its own record instead of adding a duplicate. Handlers may be plain functions
or ``async def``; raising ``PermanentError`` acknowledges an event that can
never succeed (no retries), raising anything else answers 500 so Layer
retries later.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

from layer_webhook_guard import PermanentError, WebhookEvent, WebhookRouter

logger = logging.getLogger(__name__)

router = WebhookRouter()

KEEP_FOR = 24 * 60 * 60  # seconds


def delivery_key(event_id: str) -> str:
    return f"layer-delivery:{event_id}"


@router.on("*")
def record_delivery(event: WebhookEvent) -> None:
    if event.id is None:
        raise PermanentError("event without an id")
    cache.set(
        delivery_key(event.id),
        {"id": event.id, "type": event.type, "created_at": event.created_at, "request_id": event.request_id},
        timeout=KEEP_FOR,
    )


@router.on("message.sent")
async def log_message(event: WebhookEvent) -> None:
    message = event.payload.get("message")
    message_id = message.get("id") if isinstance(message, dict) else None
    logger.info("message %s was sent (event %s)", message_id, event.id)
