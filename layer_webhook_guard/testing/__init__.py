"""Build signed, Layer-shaped deliveries for your own tests.

>>> from layer_webhook_guard.testing import build_delivery
>>> delivery = build_delivery("message.sent", secret="test-secret")
>>> response = flask_client.post("/layer/webhooks", **delivery.flask())       # doctest: +SKIP
>>> response = django_client.post("/layer/webhooks", **delivery.django())     # doctest: +SKIP
>>> response = starlette_client.post("/layer/webhooks", **delivery.httpx())   # doctest: +SKIP

Bodies are compact JSON, exactly as Layer sends them, and every delivery
carries all of Layer's headers. Nothing here imports a web framework: the
helpers return keyword arguments for each framework's test client.
With pytest, the ``layer_delivery`` fixture (registered through the package's
``pytest11`` entry point) gives a factory bound to the ``layer_webhook_secret``
fixture, which you override to return your app's secret.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Literal

from ..signing import sign

__all__ = [
    "DEFAULT_WEBHOOK_ID",
    "Delivery",
    "build_delivery",
    "load_sample",
    "sample_names",
    "signed_headers",
]

Shape = Literal["1.0", "pre-1.0"]
DEFAULT_WEBHOOK_ID = "7f6b2f4e-1d0c-4b5a-9e8d-3c2b1a0f9e8d"
_CONTENT_TYPE = "application/vnd.layer.webhooks+json; version={v}"


def signed_headers(
    body: bytes,
    secret: str | bytes,
    event_type: str,
    *,
    request_id: str | None = None,
    webhook_id: str = DEFAULT_WEBHOOK_ID,
    version: str = "1.0",
    algorithm: str = "sha1",
) -> dict[str, str]:
    """Every header Layer sends with ``body``, signed with ``secret``."""
    return {
        "Content-Type": _CONTENT_TYPE.format(v=version),
        "User-Agent": f"layer-webhooks/{version}",
        "layer-webhook-signature": sign(body, secret, algorithm=algorithm),
        "layer-webhook-event-type": event_type,
        "layer-webhook-request-id": request_id or str(uuid.uuid4()),
        "layer-webhook-id": webhook_id,
    }


def sample_names() -> list[str]:
    """Names of the documented sample events shipped with the package."""
    files = resources.files("layer_webhook_guard").joinpath("samples").iterdir()
    return sorted(f.name.removesuffix(".json") for f in files if f.name.endswith(".json"))


def load_sample(name: str) -> bytes:
    """The exact bytes of a shipped sample, e.g. ``"v1.0.message.sent"``."""
    if name not in sample_names():
        raise KeyError(f"no sample named {name!r}; see sample_names()")
    return resources.files("layer_webhook_guard").joinpath("samples").joinpath(f"{name}.json").read_bytes()


def _payload(
    event_type: str, shape: Shape, event_id: str, created_at: str, config: Mapping[str, Any]
) -> dict[str, Any]:
    subject = "conversation" if event_type.lower().startswith("conversation") else "message"
    body: dict[str, Any] = {"id": f"layer:///{subject}s/{uuid.uuid4()}"}
    if shape == "pre-1.0":
        return {
            "event_timestamp": created_at,
            "event_type": event_type,
            "event_id": event_id,
            subject: body,
            "target_config": dict(config),
        }
    return {
        "event": {"created_at": created_at, "type": event_type, "id": event_id},
        subject: body,
        "config": dict(config),
    }


@dataclass(frozen=True)
class Delivery:
    """One signed delivery: the exact body and the headers Layer sends."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    event_type: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/json")

    @property
    def signature(self) -> str:
        return self.headers["layer-webhook-signature"]

    def tampered(self) -> Delivery:
        """The same headers with one body byte changed (must be refused)."""
        body = bytearray(self.body)
        body[len(body) // 2] ^= 0x01
        return replace(self, body=bytes(body))

    def with_headers(self, **changes: str | None) -> Delivery:
        """A copy with headers changed (``None`` removes one); not re-signed.

        Underscores in names become dashes: ``layer_webhook_signature=None``.
        """
        headers = dict(self.headers)
        for name, value in changes.items():
            key = name.replace("_", "-")
            for existing in list(headers):
                if existing.lower() == key.lower():
                    del headers[existing]
            if value is not None:
                headers[key] = value
        return replace(self, headers=headers)

    def _extra_headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.lower() != "content-type"}

    def flask(self) -> dict[str, Any]:
        """Keyword arguments for ``FlaskClient.post`` (Werkzeug test client)."""
        return {"data": self.body, "headers": self._extra_headers(), "content_type": self.content_type}

    def django(self) -> dict[str, Any]:
        """Keyword arguments for ``django.test.Client.post`` (Django >= 4.2)."""
        return {"data": self.body, "content_type": self.content_type, "headers": self._extra_headers()}

    def httpx(self) -> dict[str, Any]:
        """Keyword arguments for httpx / Starlette's ``TestClient.post``."""
        return {"content": self.body, "headers": dict(self.headers)}


def _type_in(payload: Mapping[str, Any]) -> str | None:
    envelope = payload.get("event")
    found = envelope.get("type") if isinstance(envelope, Mapping) else payload.get("event_type")
    return found if isinstance(found, str) else None


def build_delivery(
    event_type: str | None = None,
    *,
    secret: str | bytes,
    payload: Mapping[str, Any] | None = None,
    shape: Shape = "1.0",
    event_id: str | None = None,
    config: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    webhook_id: str = DEFAULT_WEBHOOK_ID,
    version: str = "1.0",
    algorithm: str = "sha1",
) -> Delivery:
    """A signed delivery of ``event_type`` (or of ``payload`` as given).

    ``payload`` is serialised as compact JSON, the way Layer sends it; pass
    bytes through :func:`signed_headers` yourself to sign exact bytes. The
    ``layer-webhook-event-type`` header is ``event_type``, else the type in
    ``payload``, else ``message.sent``.
    """
    if event_type is None:
        event_type = (_type_in(payload) if payload is not None else None) or "message.sent"
    if payload is None:
        created_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        doc = _payload(event_type, shape, event_id or str(uuid.uuid4()), created_at, config or {})
    else:
        doc = copy.deepcopy(dict(payload))
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = signed_headers(
        body, secret, event_type, request_id=request_id, webhook_id=webhook_id, version=version, algorithm=algorithm
    )
    return Delivery(body=body, headers=headers, event_type=event_type)
