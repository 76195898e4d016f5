"""The verified webhook event.

:meth:`WebhookEvent.from_body` trusts its input to be verified bytes: it is
called only after the signature matched. It still treats the content as data
of unknown shape, so any body gives either an event or ``InvalidPayload``.
Both of Layer's payload shapes are understood:

* webhooks 1.0-3.0: ``{"event": {"type", "id", "created_at"}, ..., "config"}``
* the first public format: ``{"event_type", "event_id", "event_timestamp",
  ..., "target_config"}``
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _json
from ._headers import Headers, HeadersInput
from .errors import InvalidPayload

__all__ = ["WebhookEvent"]

_BOM = codecs.BOM_UTF8


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _event_fields(payload: dict[str, Any]) -> tuple[object, object, object]:
    envelope = payload.get("event")
    if isinstance(envelope, dict) and "type" in envelope:
        return envelope.get("type"), envelope.get("id"), envelope.get("created_at")
    return payload.get("event_type"), payload.get("event_id"), payload.get("event_timestamp")


@dataclass(frozen=True, slots=True, repr=False)
class WebhookEvent:
    """One verified delivery. ``payload`` is the whole parsed body."""

    type: str
    id: str | None
    created_at: str | None
    payload: dict[str, Any]
    config: dict[str, Any]
    body: bytes
    headers: Headers = field(default_factory=Headers)

    @property
    def request_id(self) -> str | None:
        """``layer-webhook-request-id``: the same on every retry of a delivery."""
        return self.headers.get("layer-webhook-request-id")

    @property
    def webhook_id(self) -> str | None:
        """``layer-webhook-id``: which registered webhook sent this."""
        return self.headers.get("layer-webhook-id")

    @classmethod
    def from_body(cls, body: bytes, headers: HeadersInput | Mapping[str, str] = None) -> WebhookEvent:
        """Build an event from verified body bytes, or raise InvalidPayload."""
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError(f"the body must be bytes, not {type(body).__name__}")
        raw = bytes(body)
        data = raw[3:] if raw.startswith(_BOM) else raw
        try:
            payload = _json.loads(data)
        except _json.JSONError as exc:
            raise InvalidPayload(str(exc)) from None
        if not isinstance(payload, dict):
            raise InvalidPayload("the body is not a JSON object")
        type_, id_, created_at = _event_fields(payload)
        if not isinstance(type_, str) or not type_.strip():
            raise InvalidPayload("the body has no event type")
        config = payload.get("config")
        if not isinstance(config, dict):
            config = payload.get("target_config")
        return cls(
            type=type_,
            id=_opt_str(id_),
            created_at=_opt_str(created_at),
            payload=payload,
            config=config if isinstance(config, dict) else {},
            body=raw,
            # A snapshot: a view onto a WSGI environ must not outlive the request.
            headers=headers if type(headers) is Headers else Headers(headers),
        )

    def __repr__(self) -> str:
        return f"WebhookEvent(type={self.type!r}, id={self.id!r}, body=<{len(self.body)} bytes>)"
