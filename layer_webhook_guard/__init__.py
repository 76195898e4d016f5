"""Verify, answer and route Layer webhook deliveries.

The core needs only the standard library; the framework adapters live in
``layer_webhook_guard.wsgi``, ``.asgi``, ``.flask``, ``.django`` and
``.starlette`` and import their framework on demand.
"""

from __future__ import annotations

from .errors import (
    ConfigurationError,
    HandlerError,
    InvalidPayload,
    PayloadTooLarge,
    PermanentError,
    SignatureError,
    WebhookError,
)
from .events import WebhookEvent
from .receiver import Action, Decision, WebhookReceiver
from .routing import WebhookRouter
from .signing import SignatureVerifier, sign

__all__ = [
    "Action",
    "ConfigurationError",
    "Decision",
    "HandlerError",
    "InvalidPayload",
    "PayloadTooLarge",
    "PermanentError",
    "SignatureError",
    "SignatureVerifier",
    "WebhookError",
    "WebhookEvent",
    "WebhookReceiver",
    "WebhookRouter",
    "sign",
]

__version__ = "0.1.0"
