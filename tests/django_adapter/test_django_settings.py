"""Settings: read lazily (override_settings works on a running handler), a
missing secret is ImproperlyConfigured at construction, routers by path."""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import path
from support import event_body, reference_sign

from layer_webhook_guard import WebhookRouter
from layer_webhook_guard.django import LayerWebhookMiddleware, webhook_view

from .harness import SECRET, WEBHOOK_PATH, Recorder, echo, make_urlconf, send, signed_headers, stack

BODY = event_body("message.sent")


def _get_response(request: Any) -> Any:
    raise AssertionError("not called")


BAD_SECRETS = [
    pytest.param(None, id="none"),
    pytest.param("", id="empty"),
    pytest.param("  \t", id="whitespace-only"),
    pytest.param([], id="empty-list"),
    pytest.param(["good-secret", ""], id="empty-element"),
    pytest.param(("good-secret", None), id="none-element"),
    pytest.param(42, id="not-a-string"),
]


@pytest.mark.parametrize("secret", BAD_SECRETS)
def test_bad_secret_is_improperly_configured_at_construction(secret: object, site: Callable[..., None]) -> None:
    site(LAYER_WEBHOOK_SECRET=secret)
    with pytest.raises(ImproperlyConfigured, match="LAYER_WEBHOOK_SECRET") as info:
        LayerWebhookMiddleware(_get_response)
    assert "good-secret" not in str(info.value)


def test_absent_secret_is_improperly_configured(site: Callable[..., None]) -> None:
    site()
    with override_settings():
        del settings.LAYER_WEBHOOK_SECRET
        with pytest.raises(ImproperlyConfigured, match="no webhook secret"):
            LayerWebhookMiddleware(_get_response)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        pytest.param("LAYER_WEBHOOK_ROUTER", "no_such_module.router", "cannot import", id="router-unimportable"),
        pytest.param("LAYER_WEBHOOK_ROUTER", "os.path", "WebhookRouter", id="router-wrong-type"),
        pytest.param("LAYER_WEBHOOK_PATH", "layer/webhooks", "start with '/'", id="relative-path"),
        pytest.param("LAYER_WEBHOOK_PATH", 5, "string", id="path-not-str"),
        pytest.param("LAYER_WEBHOOK_MAX_BODY_SIZE", -1, "non-negative", id="negative-size"),
        pytest.param("LAYER_WEBHOOK_MAX_BODY_SIZE", "1mb", "non-negative", id="size-not-int"),
        pytest.param("LAYER_WEBHOOK_ALGORITHM", "md5", "unknown algorithm", id="md5"),
    ],
)
def test_bad_settings_are_improperly_configured(
    name: str, value: object, match: str, site: Callable[..., None]
) -> None:
    site(**{name: value})
    with pytest.raises(ImproperlyConfigured, match=match):
        LayerWebhookMiddleware(_get_response)


def test_whitespace_secret_is_used_as_given_with_a_warning(site: Callable[..., None], router: WebhookRouter) -> None:
    site(LAYER_WEBHOOK_SECRET=" padded ", LAYER_WEBHOOK_ROUTER=router, MIDDLEWARE=stack(guard=True))
    with pytest.warns(UserWarning, match="whitespace") as record:
        LayerWebhookMiddleware(_get_response)
    assert "padded" not in str(record[0].message)


def test_settings_are_read_lazily(site: Callable[..., None], router: WebhookRouter, recorder: Recorder) -> None:
    site(MIDDLEWARE=stack(guard=True), LAYER_WEBHOOK_ROUTER=router, ROOT_URLCONF=make_urlconf([]))
    client = Client(enforce_csrf_checks=True)  # keeps its middleware chain across overrides
    assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY), client=client).status == 204

    new_secret = "rotated-secret"
    new_headers = {"layer-webhook-signature": reference_sign(BODY, new_secret)}
    with override_settings(LAYER_WEBHOOK_SECRET=new_secret):
        assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY), client=client).status == 401
        assert send("POST", WEBHOOK_PATH, BODY, new_headers, client=client).status == 204
    with override_settings(LAYER_WEBHOOK_PATH="/hooks/layer/"):
        assert send("POST", "/hooks/layer", BODY, signed_headers(BODY), client=client).status == 204
        assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY), client=client).status == 404
    with override_settings(LAYER_WEBHOOK_MAX_BODY_SIZE=10):
        assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY), client=client).status == 413
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10):
        assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY), client=client).status == 413
    with override_settings(LAYER_WEBHOOK_ALGORITHM="sha256"):
        sha256 = {"layer-webhook-signature": reference_sign(BODY, SECRET, "sha256")}
        assert send("POST", WEBHOOK_PATH, BODY, sha256, client=client).status == 204
    # Restored on exit.
    assert send("POST", WEBHOOK_PATH, BODY, new_headers, client=client).status == 401
    assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY), client=client).status == 204
    assert len(recorder.calls) == 5


def test_router_switch_between_modes(site: Callable[..., None], router: WebhookRouter) -> None:
    site(MIDDLEWARE=stack(guard=True), ROOT_URLCONF=make_urlconf([path("layer/webhooks", echo)]))
    client = Client(enforce_csrf_checks=True)
    assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY), client=client).json()["view"] == "echo"
    with override_settings(LAYER_WEBHOOK_ROUTER=router):
        assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY), client=client).status == 204


def test_secret_rotation_list(site: Callable[..., None], router: WebhookRouter) -> None:
    site(
        MIDDLEWARE=stack(guard=True),
        LAYER_WEBHOOK_ROUTER=router,
        LAYER_WEBHOOK_SECRET=["new-secret", SECRET],
        ROOT_URLCONF=make_urlconf([]),
    )
    for secret in ("new-secret", SECRET):
        headers = {"layer-webhook-signature": reference_sign(BODY, secret)}
        assert send("POST", WEBHOOK_PATH, BODY, headers).status == 204
    assert send("POST", WEBHOOK_PATH, BODY, {"layer-webhook-signature": reference_sign(BODY, "old")}).status == 401


def test_router_by_dotted_path(
    site: Callable[..., None], router: WebhookRouter, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("django_adapter_dotted_handlers")
    module.router = router  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    urls = make_urlconf([path("view", webhook_view(f"{module.__name__}.router"))])
    site(MIDDLEWARE=stack(guard=True), LAYER_WEBHOOK_ROUTER=f"{module.__name__}.router", ROOT_URLCONF=urls)
    assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY)).status == 204
    assert send("POST", "/view", BODY, signed_headers(BODY)).status == 204
    assert recorder.seen == [("record", "message.sent")] * 2


# -- webhook_view arguments ----------------------------------------------------------


def test_view_explicit_secret_and_router(site: Callable[..., None], router: WebhookRouter, recorder: Recorder) -> None:
    urls = make_urlconf([path("hook", webhook_view(router, secret="view-only-secret"))])
    site(MIDDLEWARE=stack(guard=False), ROOT_URLCONF=urls)
    assert send("POST", "/hook", BODY, signed_headers(BODY)).status == 401  # the settings' secret is not used
    headers = {"layer-webhook-signature": reference_sign(BODY, "view-only-secret")}
    assert send("POST", "/hook", BODY, headers).status == 204
    assert recorder.seen == [("record", "message.sent")]


def test_view_router_from_settings(site: Callable[..., None], router: WebhookRouter, recorder: Recorder) -> None:
    site(
        MIDDLEWARE=stack(guard=False),
        LAYER_WEBHOOK_ROUTER=router,
        ROOT_URLCONF=make_urlconf([path("h", webhook_view())]),
    )
    assert send("POST", "/h", BODY, signed_headers(BODY)).status == 204
    assert recorder.seen == [("record", "message.sent")]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"secret": ""}, "empty", id="empty-secret"),
        pytest.param({"secret": ["ok", ""]}, "empty", id="empty-element"),
        pytest.param({"router": 42}, "WebhookRouter", id="router-not-a-router"),
    ],
)
def test_view_bad_arguments_fail_at_once(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=match):
        webhook_view(**kwargs)


def test_view_without_any_router_is_improperly_configured(site: Callable[..., None]) -> None:
    site(MIDDLEWARE=stack(guard=False), ROOT_URLCONF=make_urlconf([path("h", webhook_view())]))
    with pytest.raises(ImproperlyConfigured, match="needs a router"):
        send("POST", "/h", BODY, signed_headers(BODY))


def test_view_reads_secret_setting_lazily(site: Callable[..., None], router: WebhookRouter) -> None:
    # Building the view (importing urls.py) never needs the secret setting.
    with override_settings():
        del settings.LAYER_WEBHOOK_SECRET
        view = webhook_view(router)
    site(MIDDLEWARE=stack(guard=False), ROOT_URLCONF=make_urlconf([path("h", view)]))
    assert send("POST", "/h", BODY, signed_headers(BODY)).status == 204


def test_no_warning_for_a_clean_configuration(site: Callable[..., None], router: WebhookRouter) -> None:
    site(LAYER_WEBHOOK_ROUTER=router)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LayerWebhookMiddleware(_get_response)
