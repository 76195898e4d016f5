"""The Flask extension: setup, CONTRACT.md §4 through its endpoint, guard mode, CSRF, limits."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, current_app, request, url_for
from flask.testing import FlaskClient
from support import ROOT, event_body, reference_sign
from wsgi_support import (
    MAX_BODY,
    PATH,
    SECRET,
    Recorder,
    Result,
    Row,
    StrictStream,
    call_wsgi,
    check_row,
    chunked,
    contract_rows,
    signed,
)

from layer_webhook_guard import ConfigurationError, PermanentError, WebhookEvent, WebhookRouter
from layer_webhook_guard.flask import EXTENSION_KEY, LayerWebhooks, LayerWebhooksState, get_event

EV = event_body("message.sent")

AppFactory = Callable[..., Flask]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_app() -> AppFactory:
    """Build a fresh app: ``make_app(router=..., url_path=..., **config)``."""

    def build(*, extension: LayerWebhooks | None = None, **config: Any) -> Flask:
        app = Flask(__name__)
        app.config.update(TESTING=True, LAYER_WEBHOOK_SECRET=SECRET, LAYER_WEBHOOK_MAX_BODY_SIZE=MAX_BODY)
        app.config.update(config)
        (extension or LayerWebhooks()).init_app(app)
        return app

    return build


@pytest.fixture
def app(make_app: AppFactory, recorder: Recorder) -> Flask:
    return make_app(extension=LayerWebhooks(router=recorder.router))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post(client: FlaskClient, body: bytes, headers: dict[str, str], path: str = PATH, **kwargs: Any) -> Any:
    return client.post(path, data=body, headers=list(headers.items()), **kwargs)


# -- §4, every row, through the endpoint -------------------------------------------------


@pytest.mark.parametrize("row", contract_rows())
def test_contract_row_with_the_test_client(row: Row, client: FlaskClient, recorder: Recorder) -> None:
    response = client.open(**row.builder_kwargs())
    result = Result(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.get_data())
    check_row(row, result, recorder)


@pytest.mark.parametrize("row", contract_rows())
def test_contract_row_with_built_environ(row: Row, app: Flask, recorder: Recorder) -> None:
    check_row(row, call_wsgi(app, row.environ()), recorder)


def test_trailing_slash_is_tolerated_without_a_redirect(client: FlaskClient, recorder: Recorder) -> None:
    assert post(client, EV, signed(EV), PATH + "/").status_code == 204
    assert recorder.types == ["message.sent"]


@pytest.mark.parametrize("path", ["/layer//webhooks", PATH + "/x", PATH.upper()])
def test_other_paths_are_not_the_endpoint(path: str, client: FlaskClient, recorder: Recorder) -> None:
    assert post(client, EV, signed(EV), path).status_code == 404
    assert recorder.seen == []


def test_head_has_no_body(client: FlaskClient) -> None:
    response = client.head(PATH, query_string={"verification_challenge": "abc"})
    assert (response.status_code, response.get_data(), response.headers["Content-Length"]) == (200, b"", "3")


def test_204_has_no_content_type(client: FlaskClient) -> None:
    response = post(client, EV, signed(EV))
    assert response.status_code == 204 and "Content-Type" not in response.headers


# -- the extension shape --------------------------------------------------------------------


def test_factory_pattern_and_decorators(make_app: AppFactory) -> None:
    webhooks = LayerWebhooks()
    seen: list[tuple[str, str]] = []
    failures: list[str] = []

    @webhooks.on("message.sent")
    def handle(event: WebhookEvent) -> None:
        seen.append((event.type, current_app.name))  # runs inside the app context

    @webhooks.on("message.read")
    def broken(event: WebhookEvent) -> None:
        raise ValueError("boom")

    @webhooks.on_error
    def hook(event: WebhookEvent, exc: BaseException) -> None:
        failures.append(type(exc).__name__)

    app = make_app(extension=webhooks)
    state = app.extensions[EXTENSION_KEY]
    assert isinstance(state, LayerWebhooksState) and state.extension is webhooks and state.path == PATH
    client = app.test_client()
    assert post(client, EV, signed(EV)).status_code == 204
    assert seen == [("message.sent", app.name)]
    read = event_body("message.read")
    assert post(client, read, signed(read, "message.read")).status_code == 500
    assert failures == ["ValueError"]
    with app.test_request_context():
        assert url_for("layer_webhooks") == PATH


def test_config_defaults_are_set_and_existing_values_kept(make_app: AppFactory) -> None:
    app = make_app(LAYER_WEBHOOK_ALGORITHM="sha256")
    assert app.config["LAYER_WEBHOOK_PATH"] == "/layer/webhooks"
    assert app.config["LAYER_WEBHOOK_ROUTER"] is None
    assert app.config["LAYER_WEBHOOK_ALGORITHM"] == "sha256"
    assert app.config["LAYER_WEBHOOK_MAX_BODY_SIZE"] == MAX_BODY
    plain = Flask("plain")
    plain.config["LAYER_WEBHOOK_SECRET"] = SECRET
    LayerWebhooks(plain)
    assert plain.config["LAYER_WEBHOOK_MAX_BODY_SIZE"] == 1_048_576


def test_algorithm_from_config(make_app: AppFactory) -> None:
    client = make_app(LAYER_WEBHOOK_ALGORITHM="sha256").test_client()
    assert post(client, EV, signed(EV, layer_webhook_signature=reference_sign(EV, SECRET, "sha256"))).status_code == 204
    assert post(client, EV, signed(EV)).status_code == 401  # a sha1 signature no longer verifies


def test_secret_rotation_list(make_app: AppFactory) -> None:
    client = make_app(LAYER_WEBHOOK_SECRET=["new-secret", SECRET]).test_client()
    assert post(client, EV, signed(EV)).status_code == 204
    assert post(client, EV, signed(EV, layer_webhook_signature=reference_sign(EV, "new-secret"))).status_code == 204


def test_constructor_arguments_win_over_config(make_app: AppFactory) -> None:
    app = make_app(extension=LayerWebhooks(secret="ctor-secret", url_path="/hooks"), LAYER_WEBHOOK_PATH="/ignored")
    client = app.test_client()
    ok = signed(EV, layer_webhook_signature=reference_sign(EV, "ctor-secret"))
    assert post(client, EV, ok, "/hooks").status_code == 204
    assert post(client, EV, signed(EV), "/hooks").status_code == 401
    assert post(client, EV, ok, "/ignored").status_code == 404


@pytest.mark.parametrize(
    "secret",
    [pytest.param(None, id="missing"), pytest.param("", id="empty"), pytest.param("  \t", id="whitespace")],
)
def test_missing_secret_fails_at_init_app_naming_the_setting(secret: str | None) -> None:
    app = Flask(__name__)
    if secret is not None:
        app.config["LAYER_WEBHOOK_SECRET"] = secret
    webhooks = LayerWebhooks()
    with pytest.raises(ConfigurationError, match="LAYER_WEBHOOK_SECRET"):
        webhooks.init_app(app)
    assert EXTENSION_KEY not in app.extensions
    assert PATH not in [rule.rule for rule in app.url_map.iter_rules()]


@pytest.mark.parametrize(
    ("config", "match"),
    [
        pytest.param({"LAYER_WEBHOOK_SECRET": ["ok", ""]}, "LAYER_WEBHOOK_SECRET", id="empty-secret-in-list"),
        pytest.param({"LAYER_WEBHOOK_ALGORITHM": "md5"}, "LAYER_WEBHOOK_ALGORITHM", id="unknown-algorithm"),
        pytest.param({"LAYER_WEBHOOK_MAX_BODY_SIZE": "big"}, "LAYER_WEBHOOK_MAX_BODY_SIZE", id="bad-max-body"),
        pytest.param({"LAYER_WEBHOOK_PATH": "layer"}, "must start with '/'", id="relative-path"),
        pytest.param({"LAYER_WEBHOOK_PATH": 42}, "LAYER_WEBHOOK_PATH", id="path-not-a-string"),
        pytest.param(
            {"LAYER_WEBHOOK_ROUTER": "no_such_module.router"}, "LAYER_WEBHOOK_ROUTER", id="router-unimportable"
        ),
        pytest.param({"LAYER_WEBHOOK_ROUTER": object()}, "LAYER_WEBHOOK_ROUTER", id="router-wrong-type"),
    ],
)
def test_bad_configuration_fails_at_init_app(make_app: AppFactory, config: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        make_app(**config)


def test_router_from_config_object(make_app: AppFactory, recorder: Recorder) -> None:
    assert post(make_app(LAYER_WEBHOOK_ROUTER=recorder.router).test_client(), EV, signed(EV)).status_code == 204
    assert recorder.types == ["message.sent"]


def test_router_from_config_dotted_path(
    make_app: AppFactory, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "DOTTED_ROUTER", recorder.router, raising=False)
    client = make_app(LAYER_WEBHOOK_ROUTER=f"{__name__}:DOTTED_ROUTER").test_client()
    assert post(client, EV, signed(EV)).status_code == 204
    assert recorder.types == ["message.sent"]


def test_handlers_on_the_extension_conflict_with_a_configured_router(make_app: AppFactory) -> None:
    webhooks = LayerWebhooks()
    webhooks.on("message.sent")(lambda event: None)
    with pytest.raises(ConfigurationError, match="LAYER_WEBHOOK_ROUTER"):
        make_app(extension=webhooks, LAYER_WEBHOOK_ROUTER=WebhookRouter())


def test_init_app_twice_is_an_error(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="already initialised"):
        LayerWebhooks().init_app(app)


def test_one_extension_serves_two_apps(make_app: AppFactory, recorder: Recorder) -> None:
    webhooks = LayerWebhooks(router=recorder.router)
    first = make_app(extension=webhooks)
    second = make_app(extension=webhooks, LAYER_WEBHOOK_SECRET="other-secret", LAYER_WEBHOOK_PATH="/hooks")
    assert post(first.test_client(), EV, signed(EV)).status_code == 204
    other = signed(EV, layer_webhook_signature=reference_sign(EV, "other-secret"))
    assert post(second.test_client(), EV, other, "/hooks").status_code == 204
    assert post(second.test_client(), EV, signed(EV), "/hooks").status_code == 401
    assert len(recorder.seen) == 2


def test_no_endpoint_when_the_path_is_none(make_app: AppFactory) -> None:
    client = make_app(LAYER_WEBHOOK_PATH=None).test_client()
    assert post(client, EV, signed(EV)).status_code == 404


def test_protect_without_init_app_is_a_clear_error() -> None:
    webhooks = LayerWebhooks()
    app = Flask(__name__)
    app.add_url_rule("/v", view_func=webhooks.protect(lambda: "x"), methods=["POST"])
    with app.test_request_context("/v", method="POST"), pytest.raises(RuntimeError, match="init_app"):
        app.view_functions["<lambda>"]()


_NO_FLASK = r"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "flask":
            raise ImportError("No module named " + repr(name))
sys.meta_path.insert(0, Block())
import layer_webhook_guard.wsgi  # the WSGI shell still imports
try:
    import layer_webhook_guard.flask
except ImportError as exc:
    print(exc)
else:
    print("imported")
"""


def test_import_without_flask_names_the_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _NO_FLASK], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'layer-webhook-guard[flask]'" in done.stdout


# -- Flask's own body limit -------------------------------------------------------------


@pytest.mark.parametrize("target", ["endpoint", "protected-view"])
@pytest.mark.parametrize("framing", ["declared", "chunked"])
def test_max_content_length_is_a_json_413(make_app: AppFactory, framing: str, target: str) -> None:
    app = make_app(MAX_CONTENT_LENGTH=100)
    ran: list[bool] = []

    @app.post("/mine")
    @app.extensions[EXTENSION_KEY].extension.protect
    def mine() -> str:
        ran.append(True)
        return "ok"

    body = event_body("message.sent")  # ~190 bytes: over 100, under MAX_BODY
    if framing == "declared":
        stream = StrictStream(body, touchable=False)
        overrides: dict[str, Any] = {"wsgi.input": stream, "CONTENT_LENGTH": str(len(body))}
    else:
        overrides = chunked(body)
        stream = overrides["wsgi.input"]
    path = PATH if target == "endpoint" else "/mine"
    response = app.test_client().post(path, headers=list(signed(body).items()), environ_overrides=overrides)
    assert response.status_code == 413
    assert response.get_json() == {"error": "payload_too_large"}
    assert stream.violations == [] and stream.served <= 101
    assert ran == []


# -- guard mode: @webhooks.protect -------------------------------------------------------


@pytest.fixture
def guarded(make_app: AppFactory) -> tuple[Flask, list[dict[str, Any]]]:
    webhooks = LayerWebhooks()
    app = make_app(extension=webhooks)
    seen: list[dict[str, Any]] = []

    @app.route("/mine", methods=["GET", "POST", "PUT"])
    @webhooks.protect
    def mine() -> tuple[str, int]:
        event = get_event()
        seen.append(
            {
                "data": request.get_data(),
                "json": request.get_json(silent=True),
                "form": request.form.to_dict(flat=False),
                "content_length": request.content_length,
                "event": event,
            }
        )
        return "view", 200

    @app.post("/mine-async")
    @webhooks.protect
    async def mine_async() -> str:
        event = get_event()
        return event.type if event is not None else "none"

    return app, seen


def test_protected_view_gets_the_body_the_json_and_the_event(guarded: tuple[Flask, list[dict[str, Any]]]) -> None:
    app, seen = guarded
    response = post(app.test_client(), EV, signed(EV), "/mine")
    assert response.get_data() == b"view"
    (view,) = seen
    assert view["data"] == EV and view["json"]["event"]["type"] == "message.sent"
    assert view["content_length"] == len(EV)
    assert isinstance(view["event"], WebhookEvent) and view["event"].body == EV


def test_protected_view_gets_a_chunked_body(guarded: tuple[Flask, list[dict[str, Any]]]) -> None:
    app, seen = guarded
    response = app.test_client().post("/mine", headers=list(signed(EV).items()), environ_overrides=chunked(EV))
    assert response.status_code == 200
    assert seen[0]["data"] == EV and seen[0]["content_length"] == len(EV)


def test_protected_view_sees_the_new_length_even_if_a_hook_read_the_old_one(
    guarded: tuple[Flask, list[dict[str, Any]]],
) -> None:
    app, seen = guarded
    lengths: list[int | None] = []
    app.before_request(lambda: lengths.append(request.content_length))  # Werkzeug caches it
    response = app.test_client().post("/mine", headers=list(signed(EV).items()), environ_overrides=chunked(EV))
    assert response.status_code == 200
    assert lengths == [None]  # chunked: no length yet
    assert seen[0]["content_length"] == len(EV) and seen[0]["data"] == EV


def test_form_body_verifies_over_its_raw_bytes_and_the_view_sees_the_form(
    guarded: tuple[Flask, list[dict[str, Any]]],
) -> None:
    app, seen = guarded
    form = b"name=J%C3%BCrgen+Smith&tags=a&tags=b&empty="
    headers = signed(form, None, content_type="application/x-www-form-urlencoded")
    assert post(app.test_client(), form, headers, "/mine").status_code == 200
    (view,) = seen
    assert view["form"] == {"name": ["Jürgen Smith"], "tags": ["a", "b"], "empty": [""]}
    assert view["event"] is None  # verified, but not a Layer event


def test_form_body_tampered_after_signing_is_401(guarded: tuple[Flask, list[dict[str, Any]]]) -> None:
    app, seen = guarded
    form = b"amount=10"
    headers = signed(form, None, content_type="application/x-www-form-urlencoded")
    assert post(app.test_client(), b"amount=99", headers, "/mine").status_code == 401
    assert seen == []


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        pytest.param(signed(EV, layer_webhook_signature=None), EV, 401, id="unsigned"),
        pytest.param(signed(EV, layer_webhook_signature="\xff" * 40), EV, 401, id="non-ascii-signature"),
        pytest.param(signed(EV, layer_webhook_signature=reference_sign(EV, SECRET) + ", x"), EV, 401, id="merged"),
        pytest.param(signed(EV, content_encoding="gzip"), EV, 415, id="encoded"),
        pytest.param(signed(EV, layer_webhook_event_type="message.read"), EV, 400, id="type-mismatch"),
    ],
)
def test_rejected_requests_never_reach_the_protected_view(
    guarded: tuple[Flask, list[dict[str, Any]]], headers: dict[str, str], body: bytes, status: int
) -> None:
    app, seen = guarded
    response = post(app.test_client(), body, headers, "/mine")
    assert response.status_code == status and set(response.get_json()) == {"error"}
    assert seen == []


def test_protected_view_declared_length_smaller_and_larger(guarded: tuple[Flask, list[dict[str, Any]]]) -> None:
    app, seen = guarded
    client = app.test_client()
    headers = list(signed(EV).items())
    longer = StrictStream(EV + b"GARBAGE")
    response = client.post(
        "/mine", headers=headers, environ_overrides={"wsgi.input": longer, "CONTENT_LENGTH": str(len(EV))}
    )
    assert response.status_code == 200 and seen[0]["data"] == EV and longer.served == len(EV)
    shorter = StrictStream(EV)
    response = client.post(
        "/mine", headers=headers, environ_overrides={"wsgi.input": shorter, "CONTENT_LENGTH": str(len(EV) + 1)}
    )
    assert response.status_code == 400 and response.get_json() == {"error": "incomplete_body"}
    assert shorter.violations == [] and len(seen) == 1


def test_protected_view_challenge_and_plain_get(guarded: tuple[Flask, list[dict[str, Any]]]) -> None:
    app, seen = guarded
    client = app.test_client()
    assert client.get("/mine?verification_challenge=xyz").get_data() == b"xyz"
    assert seen == []
    assert client.get("/mine").get_data() == b"view"
    assert seen[0]["event"] is None


def test_protected_view_options_needs_a_signature(guarded: tuple[Flask, list[dict[str, Any]]]) -> None:
    # Flask would answer OPTIONS itself (200 + Allow) without running the guard.
    app, seen = guarded
    client = app.test_client()
    assert client.open("/mine", method="OPTIONS").status_code == 401
    assert client.open("/mine-async", method="OPTIONS").status_code == 401
    signed_options = client.open("/mine", method="OPTIONS", data=EV, headers=list(signed(EV).items()))
    assert signed_options.status_code == 200 and seen[0]["data"] == EV


def test_protected_view_signed_put_and_async_view(guarded: tuple[Flask, list[dict[str, Any]]]) -> None:
    app, seen = guarded
    client = app.test_client()
    assert client.put("/mine", data=EV, headers=list(signed(EV).items())).status_code == 200
    assert seen[0]["data"] == EV
    assert post(client, EV, signed(EV), "/mine-async").get_data() == b"message.sent"
    assert post(client, EV, signed(EV, layer_webhook_signature="0" * 40), "/mine-async").status_code == 401


def test_protected_view_at_the_default_path_when_no_endpoint(make_app: AppFactory) -> None:
    webhooks = LayerWebhooks()
    app = make_app(extension=webhooks, LAYER_WEBHOOK_PATH=None)

    @app.post(PATH)
    @webhooks.protect
    def own() -> str:
        event = get_event()
        return event.type if event else "none"

    assert post(app.test_client(), EV, signed(EV)).get_data() == b"message.sent"


def test_permanent_error_is_acknowledged(make_app: AppFactory) -> None:
    webhooks = LayerWebhooks()

    @webhooks.on("message.sent")
    def give_up(event: WebhookEvent) -> None:
        raise PermanentError("cannot ever work")

    assert post(make_app(extension=webhooks).test_client(), EV, signed(EV)).status_code == 204


# -- CSRF protection never blocks a webhook -----------------------------------------------


@pytest.mark.parametrize("order", ["csrf-first", "csrf-last"])
def test_csrf_protect_does_not_block_webhooks(order: str, recorder: Recorder) -> None:
    flask_wtf = pytest.importorskip("flask_wtf.csrf")
    app = Flask(__name__)
    app.config.update(SECRET_KEY="csrf-key", LAYER_WEBHOOK_SECRET=SECRET)
    webhooks = LayerWebhooks(router=recorder.router)
    if order == "csrf-first":
        flask_wtf.CSRFProtect(app)
    webhooks.init_app(app)

    @app.post("/mine")
    @webhooks.protect
    def mine() -> str:
        return "mine"

    @app.post("/form")
    def form() -> str:
        return "form"

    if order == "csrf-last":
        flask_wtf.CSRFProtect(app)
    client = app.test_client()
    assert post(client, EV, signed(EV)).status_code == 204
    assert recorder.types == ["message.sent"]
    assert post(client, EV, signed(EV), "/mine").get_data() == b"mine"
    assert post(client, EV, signed(EV, layer_webhook_signature=None)).status_code == 401
    assert post(client, EV, signed(EV, layer_webhook_signature=None), "/mine").status_code == 401
    # CSRF protection is really on: an ordinary form POST is refused.
    assert client.post("/form", data={"a": "1"}).status_code == 400


@pytest.mark.parametrize("init_first", [True, False], ids=["init-then-views", "views-then-init"])
def test_protect_above_route_is_still_protected(
    make_app: AppFactory, init_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    webhooks = LayerWebhooks()
    app = make_app(extension=webhooks) if init_first else Flask(__name__)
    ran: list[bytes] = []

    @webhooks.protect  # wrong order: the route registers the bare function
    @app.post("/wrong-order")
    def wrong_order() -> str:
        ran.append(request.get_data())
        return "ran"

    if not init_first:
        app.config["LAYER_WEBHOOK_SECRET"] = SECRET
        webhooks.init_app(app)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="layer_webhook_guard"):
        assert client.post("/wrong-order", data=EV).status_code == 401
    assert ran == []
    assert any("below the route decorator" in r.getMessage() for r in caplog.records)
    assert post(client, EV, signed(EV), "/wrong-order").get_data() == b"ran"
