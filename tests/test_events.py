from __future__ import annotations

import dataclasses
import json

import pytest
from support import samples

from layer_webhook_guard import InvalidPayload, WebhookEvent


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_every_documented_sample_parses(sample: object) -> None:
    body = sample.body  # type: ignore[attr-defined]
    doc = json.loads(body)
    event = WebhookEvent.from_body(body)
    assert event.type == sample.event_type  # type: ignore[attr-defined]
    assert event.body == body
    assert event.payload == doc
    if "event" in doc:
        assert (event.id, event.created_at) == (doc["event"]["id"], doc["event"]["created_at"])
        assert event.config == doc["config"]
    else:
        assert (event.id, event.created_at) == (doc["event_id"], doc["event_timestamp"])
        assert event.config == doc["target_config"]


def test_headers_and_ids() -> None:
    body = b'{"event_type":"message.sent"}'
    event = WebhookEvent.from_body(
        body, {"Layer-Webhook-Request-Id": "req-1", "LAYER-WEBHOOK-ID": "hook-1", "X-Other": "v"}
    )
    assert event.request_id == "req-1"
    assert event.webhook_id == "hook-1"
    assert event.headers["x-other"] == "v" and event.headers["X-OTHER"] == "v"
    assert event.config == {} and event.id is None and event.created_at is None
    with pytest.raises(TypeError):
        event.headers["new"] = "x"  # type: ignore[index]


def test_no_headers() -> None:
    event = WebhookEvent.from_body(b'{"event_type":"x"}')
    assert event.request_id is None and event.webhook_id is None and len(event.headers) == 0


def test_event_is_immutable() -> None:
    event = WebhookEvent.from_body(b'{"event_type":"x"}')
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.type = "y"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "expected_id"),
    [
        pytest.param(b'{"event":{"type":"a","id":42}}', "42", id="int-id"),
        pytest.param(b'{"event":{"type":"a","id":null}}', None, id="null-id"),
        pytest.param(b'{"event_type":"a","event_id":7}', "7", id="flat-int-id"),
        pytest.param(b'{"event":{"type":"a"}}', None, id="missing-id"),
    ],
)
def test_id_normalisation(body: bytes, expected_id: str | None) -> None:
    assert WebhookEvent.from_body(body).id == expected_id


def test_bom_is_tolerated_and_body_kept_exact() -> None:
    body = b'\xef\xbb\xbf{"event_type":"message.sent"}'
    event = WebhookEvent.from_body(body)
    assert event.type == "message.sent" and event.body == body


def test_case_of_type_is_kept() -> None:
    assert WebhookEvent.from_body(b'{"event":{"type":"Message.created"}}').type == "Message.created"


def test_bytes_like_body() -> None:
    assert WebhookEvent.from_body(bytearray(b'{"event_type":"x"}')).body == b'{"event_type":"x"}'


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1,2]", id="array"),
        pytest.param(b'"message.sent"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"{}", id="no-type"),
        pytest.param(b'{"event":{"id":"1"}}', id="nested-no-type"),
        pytest.param(b'{"event_type":""}', id="empty-type"),
        pytest.param(b'{"event_type":"  "}', id="whitespace-type"),
        pytest.param(b'{"event_type":5}', id="int-type"),
        pytest.param(b'{"event":{"type":null}}', id="null-type"),
        pytest.param(b'{"event_type":"\xff"}', id="invalid-utf8"),
        pytest.param(b'\xff\xfe{"event_type":"a"}', id="utf16-bom"),
        pytest.param(b'{"event_type":"a"} trailing', id="extra-data"),
        pytest.param(b'{"event_type":"a","n":NaN}', id="nan"),
        pytest.param(b'{"event_type":"a","n":Infinity}', id="infinity"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-nesting"),
    ],
)
def test_invalid_payloads(body: bytes) -> None:
    with pytest.raises(InvalidPayload):
        WebhookEvent.from_body(body)


@pytest.mark.parametrize("body", [{"event_type": "a"}, '{"event_type":"a"}', None], ids=["dict", "str", "none"])
def test_non_bytes_body_is_a_type_error(body: object) -> None:
    with pytest.raises(TypeError):
        WebhookEvent.from_body(body)  # type: ignore[arg-type]


def test_repr_hides_body() -> None:
    event = WebhookEvent.from_body(b'{"event_type":"a","secret_text":"do-not-show"}')
    assert "do-not-show" not in repr(event)
