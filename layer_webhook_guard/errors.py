"""The exception tree: everything the library raises derives from WebhookError.

Each HTTP-facing error carries the status code and the short error code the
receiver answers with, so adapters never map exceptions to responses on their
own. Messages never contain a secret, a signature or a body.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ConfigurationError",
    "HandlerError",
    "InvalidPayload",
    "PayloadTooLarge",
    "PermanentError",
    "SignatureError",
    "WebhookError",
]


class WebhookError(Exception):
    """Base class of every error raised by layer_webhook_guard."""

    status_code: int = 500
    code: str = "webhook_error"


class ConfigurationError(WebhookError, ValueError):
    """The guard was set up wrongly (missing secret, unknown algorithm, ...)."""

    code = "configuration_error"


class SignatureError(WebhookError):
    """The request's signature is missing, malformed or does not match."""

    status_code = 401
    code = "invalid_signature"


class PayloadTooLarge(WebhookError):
    """The body is, or is declared to be, larger than the configured limit."""

    status_code = 413
    code = "payload_too_large"


class InvalidPayload(WebhookError):
    """A verified body is not a Layer event (not UTF-8 JSON, no type, ...)."""

    status_code = 400
    code = "invalid_payload"


class HandlerError(WebhookError):
    """One or more handlers failed; ``failures`` holds their exceptions."""

    status_code = 500
    code = "handler_failed"

    def __init__(self, failures: Sequence[BaseException]) -> None:
        self.failures: tuple[BaseException, ...] = tuple(failures)
        names = ", ".join(type(exc).__name__ for exc in self.failures)
        super().__init__(f"{len(self.failures)} handler(s) failed: {names}")


class PermanentError(WebhookError):
    """Raised by a handler for an event that can never succeed.

    The delivery is still acknowledged (so the sender stops retrying), the
    error is logged as a warning and passed to the error hooks.
    """

    status_code = 204
    code = "permanent_error"
