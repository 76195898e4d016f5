"""The WSGI middleware: CONTRACT.md §4 row by row, guard mode, and how the body is read."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT, event_body, reference_sign, samples
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request
from wsgi_support import (
    MAX_BODY,
    PATH,
    SECRET,
    FailingStream,
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

from layer_webhook_guard import ConfigurationError, WebhookEvent
from layer_webhook_guard.wsgi import EVENT_KEY, WSGIWebhookMiddleware

EV = event_body("message.sent")


class Downstream:
    """The wrapped app: records each call and what it read of the body."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls.append(environ)
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            self.bodies.append(environ["wsgi.input"].read(length))
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"downstream"]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def downstream() -> Downstream:
    return Downstream()


@pytest.fixture
def router_mw(recorder: Recorder, downstream: Downstream) -> WSGIWebhookMiddleware:
    return WSGIWebhookMiddleware(downstream, secret=SECRET, router=recorder.router, max_body_size=MAX_BODY)


@pytest.fixture
def guard_mw(downstream: Downstream) -> WSGIWebhookMiddleware:
    return WSGIWebhookMiddleware(downstream, secret=SECRET, max_body_size=MAX_BODY)


def environ_for(
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    path: str = PATH,
    **extra: Any,
) -> dict[str, Any]:
    builder = EnvironBuilder(path=path, method=method, headers=list((headers or {}).items()), data=body)
    environ = dict(builder.get_environ())
    environ.update(extra)
    return environ


# -- §4, every row ------------------------------------------------------------


@pytest.mark.parametrize("row", contract_rows())
def test_contract_row_with_built_environ(
    row: Row, router_mw: WSGIWebhookMiddleware, recorder: Recorder, downstream: Downstream
) -> None:
    result = call_wsgi(router_mw, row.environ())
    check_row(row, result, recorder)
    assert downstream.calls == []  # router mode answers the webhook path itself


@pytest.mark.parametrize("row", contract_rows())
def test_contract_row_through_flask_test_client(row: Row, recorder: Recorder) -> None:
    app = Flask(__name__)
    app.wsgi_app = WSGIWebhookMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, secret=SECRET, router=recorder.router, max_body_size=MAX_BODY
    )
    response = app.test_client().open(**row.builder_kwargs())
    result = Result(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.get_data())
    check_row(row, result, recorder)


def test_trailing_slash_is_the_webhook_path(router_mw: WSGIWebhookMiddleware, recorder: Recorder) -> None:
    result = call_wsgi(router_mw, environ_for(EV, signed(EV), path=PATH + "/"))
    assert result.status == 204
    assert recorder.types == ["message.sent"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="root"),
        pytest.param("/other", id="other"),
        pytest.param(PATH + "x", id="longer-name"),
        pytest.param(PATH + "/deeper", id="below"),
        pytest.param(PATH.upper(), id="different-case"),
    ],
)
@pytest.mark.parametrize("mode", ["router", "guard"])
def test_other_paths_pass_through_untouched(path: str, mode: str, recorder: Recorder, downstream: Downstream) -> None:
    router = recorder.router if mode == "router" else None
    mw = WSGIWebhookMiddleware(downstream, secret=SECRET, router=router)
    stream = StrictStream(EV, touchable=False)
    environ = environ_for(None, signed(EV), path=path, **{"wsgi.input": stream, "CONTENT_LENGTH": str(len(EV))})
    before = dict(environ)

    def untouched_app(env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert env is environ and env == before
        start_response("202 Accepted", [])
        return [b"app"]

    mw.app = untouched_app
    result = call_wsgi(mw, environ)
    assert (result.status, result.body) == (202, b"app")
    assert stream.violations == [] and stream.sizes == []
    assert recorder.seen == []


def test_configured_non_ascii_path_matches_the_wsgi_form(recorder: Recorder, downstream: Downstream) -> None:
    mw = WSGIWebhookMiddleware(downstream, secret=SECRET, router=recorder.router, path="/hooks/é")
    # PEP 3333: PATH_INFO carries the UTF-8 bytes decoded as latin-1.
    environ = environ_for(EV, signed(EV), PATH_INFO="/hooks/é".encode().decode("latin-1"))
    assert call_wsgi(mw, environ).status == 204
    assert recorder.types == ["message.sent"]


# -- how the body is read -------------------------------------------------------


def test_declared_length_smaller_than_the_data_signs_only_the_declared_bytes(
    guard_mw: WSGIWebhookMiddleware, downstream: Downstream
) -> None:
    stream = StrictStream(EV + b"TRAILING-GARBAGE")
    environ = environ_for(None, signed(EV), **{"wsgi.input": stream, "CONTENT_LENGTH": str(len(EV))})
    result = call_wsgi(guard_mw, environ)
    assert result.status == 200
    assert downstream.bodies == [EV]
    assert stream.served == len(EV) and stream.violations == []


def test_declared_length_smaller_than_the_data_router_mode(
    router_mw: WSGIWebhookMiddleware, recorder: Recorder
) -> None:
    stream = StrictStream(EV + b"TRAILING-GARBAGE")
    environ = environ_for(None, signed(EV), **{"wsgi.input": stream, "CONTENT_LENGTH": str(len(EV))})
    assert call_wsgi(router_mw, environ).status == 204
    assert [e.body for e in recorder.seen] == [EV]
    assert stream.served == len(EV)


@pytest.mark.parametrize("mode", ["router", "guard"])
def test_declared_length_larger_than_the_data_is_a_clean_400(
    mode: str, recorder: Recorder, downstream: Downstream
) -> None:
    mw = WSGIWebhookMiddleware(downstream, secret=SECRET, router=recorder.router if mode == "router" else None)
    stream = StrictStream(EV)  # fails the test on a second read after EOF (a loop that never ends)
    environ = environ_for(None, signed(EV), **{"wsgi.input": stream, "CONTENT_LENGTH": str(len(EV) + 10)})
    result = call_wsgi(mw, environ)
    assert (result.status, result.error) == (400, "incomplete_body")
    assert stream.violations == [] and stream.eof_reads == 1
    assert downstream.calls == [] and recorder.seen == []


def test_reads_are_sized_and_stop_at_the_declared_length(router_mw: WSGIWebhookMiddleware) -> None:
    body = event_body("message.sent", padding="p" * 3000)
    stream = StrictStream(body + b"more")
    environ = environ_for(None, signed(body), **{"wsgi.input": stream, "CONTENT_LENGTH": str(len(body))})
    assert call_wsgi(router_mw, environ).status == 204
    assert stream.served == len(body) and sum(stream.sizes) == len(body)


@pytest.mark.parametrize("terminated", [True, False], ids=["chunked", "content-length"])
def test_a_stream_error_mid_body_is_a_400_even_if_the_part_read_verifies(
    terminated: bool, router_mw: WSGIWebhookMiddleware, recorder: Recorder
) -> None:
    part = EV[: len(EV) // 2]
    stream = FailingStream(part, ConnectionResetError("client went away"))
    extra: dict[str, Any] = {"wsgi.input": stream}
    if terminated:
        extra.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    else:
        extra["CONTENT_LENGTH"] = str(len(EV))
    environ = environ_for(None, signed(part), **extra)
    result = call_wsgi(router_mw, environ)
    assert (result.status, result.error) == (400, "incomplete_body")
    assert recorder.seen == []


def test_wsgi_input_missing_with_a_declared_body_is_a_400(router_mw: WSGIWebhookMiddleware) -> None:
    environ = environ_for(EV, signed(EV))
    del environ["wsgi.input"]
    assert call_wsgi(router_mw, environ).status == 400


def test_a_documented_sample_verifies_with_its_openssl_signature(
    router_mw: WSGIWebhookMiddleware, recorder: Recorder
) -> None:
    sample = samples(compact=True)[0]
    mw = WSGIWebhookMiddleware(router_mw.app, secret=sample.secret, router=recorder.router)
    headers = signed(sample.body, sample.event_type, layer_webhook_signature=sample.signature)
    result = call_wsgi(mw, environ_for(sample.body, headers, **chunked(sample.body)))
    assert result.status == 204
    assert [e.body for e in recorder.seen] == ([sample.body] if recorder.router.has_handlers(sample.event_type) else [])


# -- guard mode ------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_guard_forwards_the_exact_body_and_the_event(
    framing: str, guard_mw: WSGIWebhookMiddleware, downstream: Downstream
) -> None:
    extra = chunked(EV) if framing == "chunked" else {}
    result = call_wsgi(guard_mw, environ_for(EV if not extra else None, signed(EV), **extra))
    assert (result.status, result.body) == (200, b"downstream")
    (environ,) = downstream.calls
    assert downstream.bodies == [EV]
    assert environ["CONTENT_LENGTH"] == str(len(EV))
    assert "HTTP_TRANSFER_ENCODING" not in environ
    assert environ["wsgi.input_terminated"] is True
    event = environ[EVENT_KEY]
    assert isinstance(event, WebhookEvent)
    assert (event.type, event.body) == ("message.sent", EV)
    assert environ["wsgi.input"].read() == b""  # exactly the body, nothing after it


def test_guard_passes_a_form_on_intact(guard_mw: WSGIWebhookMiddleware) -> None:
    form = b"name=J%C3%BCrgen+Smith&tags=a&tags=b"
    headers = signed(form, None, content_type="application/x-www-form-urlencoded")
    seen: dict[str, Any] = {}

    def form_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        seen["form"] = request.form.to_dict(flat=False)
        seen["event"] = environ[EVENT_KEY]
        start_response("200 OK", [])
        return [b""]

    guard_mw.app = form_app
    assert call_wsgi(guard_mw, environ_for(form, headers)).status == 200
    assert seen == {"form": {"name": ["Jürgen Smith"], "tags": ["a", "b"]}, "event": None}


@pytest.mark.parametrize(
    ("method", "headers", "extra", "status"),
    [
        pytest.param("POST", signed(EV, layer_webhook_signature=None), {}, 401, id="unsigned-post"),
        pytest.param("POST", signed(EV, layer_webhook_signature=reference_sign(EV, "x")), {}, 401, id="wrong-sig"),
        pytest.param("OPTIONS", {}, {}, 401, id="unsigned-options"),
        pytest.param("DELETE", signed(EV, layer_webhook_signature="0" * 40), {}, 401, id="forged-delete"),
        pytest.param("POST", signed(EV, content_encoding="br"), {}, 415, id="encoded"),
        pytest.param("POST", signed(EV), chunked(EV, terminated=False), 411, id="chunked-unterminated"),
        pytest.param("POST", signed(EV, layer_webhook_event_type="message.read"), {}, 400, id="type-mismatch"),
        pytest.param(
            "POST",
            signed(EV),
            {"wsgi.input": StrictStream(touchable=False), "CONTENT_LENGTH": str(MAX_BODY + 1)},
            413,
            id="too-large",
        ),
    ],
)
def test_guard_rejections_never_reach_the_app(
    method: str,
    headers: dict[str, str],
    extra: dict[str, Any],
    status: int,
    guard_mw: WSGIWebhookMiddleware,
    downstream: Downstream,
) -> None:
    body = None if "wsgi.input" in extra else EV
    result = call_wsgi(guard_mw, environ_for(body, headers, method=method, **extra))
    assert result.status == status
    assert downstream.calls == []


def test_guard_answers_the_challenge_itself(guard_mw: WSGIWebhookMiddleware, downstream: Downstream) -> None:
    environ = environ_for(method="GET", QUERY_STRING="verification_challenge=hello")
    assert call_wsgi(guard_mw, environ).body == b"hello"
    assert downstream.calls == []


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_guard_passes_plain_get_and_head_on(
    method: str, guard_mw: WSGIWebhookMiddleware, downstream: Downstream
) -> None:
    stream = StrictStream(touchable=False)
    result = call_wsgi(guard_mw, environ_for(method=method, **{"wsgi.input": stream}))
    assert result.body == b"downstream"
    (environ,) = downstream.calls
    assert environ.get(EVENT_KEY) is None
    assert environ["wsgi.input"] is stream


def test_guard_forwards_a_signed_put(guard_mw: WSGIWebhookMiddleware, downstream: Downstream) -> None:
    assert call_wsgi(guard_mw, environ_for(EV, signed(EV), method="PUT")).status == 200
    assert downstream.bodies == [EV]


def test_guard_verified_body_that_is_not_an_event_has_event_none(
    guard_mw: WSGIWebhookMiddleware, downstream: Downstream
) -> None:
    body = json.dumps({"hello": "world"}).encode()
    assert call_wsgi(guard_mw, environ_for(body, signed(body))).status == 200
    assert downstream.calls[0][EVENT_KEY] is None
    assert downstream.bodies == [body]


# -- never an exception, never a handler without a valid signature ------------------

_header_text = st.text(st.characters(min_codepoint=0, max_codepoint=255, blacklist_characters="\r\n"), max_size=90)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    signature=_header_text,
    content_length=st.one_of(st.none(), _header_text, st.integers(0, 2 * MAX_BODY).map(str)),
    content_encoding=st.one_of(st.none(), _header_text),
    transfer_encoding=st.one_of(st.none(), st.sampled_from(["chunked", "gzip, chunked", "identity"]), _header_text),
    terminated=st.booleans(),
    event_type=st.one_of(st.none(), _header_text),
    body=st.binary(max_size=200) | st.just(EV),
)
def test_any_header_values_give_a_4xx_and_run_no_handler(
    signature: str,
    content_length: str | None,
    content_encoding: str | None,
    transfer_encoding: str | None,
    terminated: bool,
    event_type: str | None,
    body: bytes,
) -> None:
    recorder = Recorder()
    mw = WSGIWebhookMiddleware(Downstream(), secret=SECRET, router=recorder.router, max_body_size=MAX_BODY)
    stream = StrictStream(body)
    environ = environ_for(None, {}, **{"wsgi.input": stream, "wsgi.input_terminated": terminated})
    for key, value in (
        ("HTTP_LAYER_WEBHOOK_SIGNATURE", signature),
        ("CONTENT_LENGTH", content_length),
        ("HTTP_CONTENT_ENCODING", content_encoding),
        ("HTTP_TRANSFER_ENCODING", transfer_encoding),
        ("HTTP_LAYER_WEBHOOK_EVENT_TYPE", event_type),
    ):
        if value is not None:
            environ[key] = value
    result = call_wsgi(mw, environ)
    assert 400 <= result.status < 500
    assert recorder.seen == []
    assert stream.violations == []


# -- setup and dependencies ------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"secret": None}, id="no-secret"),
        pytest.param({"secret": ""}, id="empty-secret"),
        pytest.param({"secret": SECRET, "path": "layer/webhooks"}, id="relative-path"),
        pytest.param({"secret": SECRET, "algorithm": "md5"}, id="unknown-algorithm"),
        pytest.param({"secret": SECRET, "max_body_size": -1}, id="negative-max-body"),
    ],
)
def test_bad_configuration_fails_at_construction(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        WSGIWebhookMiddleware(Downstream(), **kwargs)


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        WSGIWebhookMiddleware(Downstream(), secret=SECRET, max_body=10)  # type: ignore[call-arg]


_NO_WERKZEUG = r"""
import io, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("werkzeug", "flask"):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
sys.path.insert(0, "tests")
from support import event_body, reference_sign
from layer_webhook_guard import WebhookRouter
from layer_webhook_guard.wsgi import WSGIWebhookMiddleware
seen = []
router = WebhookRouter()
router.on("message.sent")(seen.append)
def app(environ, start_response):
    start_response("404 Not Found", [])
    return [b""]
mw = WSGIWebhookMiddleware(app, secret="s", router=router)
body = event_body("message.sent")
environ = {
    "REQUEST_METHOD": "POST", "PATH_INFO": "/layer/webhooks", "QUERY_STRING": "",
    "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
    "HTTP_LAYER_WEBHOOK_SIGNATURE": reference_sign(body, "s"),
}
status = []
mw(environ, lambda s, h, e=None: status.append(s))
assert status == ["204 No Content"], status
assert len(seen) == 1
assert not any(m.split(".")[0] in ("werkzeug", "flask") for m in sys.modules)
print("ok")
"""


def test_the_wsgi_middleware_needs_no_werkzeug() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _NO_WERKZEUG], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_head_answers_carry_no_body(router_mw: WSGIWebhookMiddleware) -> None:
    environ = environ_for(method="HEAD", QUERY_STRING="verification_challenge=abcdef")
    result = call_wsgi(router_mw, environ)
    assert (result.status, result.body, result.headers["content-length"]) == (200, b"", "6")


def test_stream_failure_is_logged_without_the_body(
    router_mw: WSGIWebhookMiddleware, caplog: pytest.LogCaptureFixture
) -> None:
    stream = FailingStream(EV[:20], OSError("reset"))
    environ = environ_for(None, signed(EV), **{"wsgi.input": stream, "CONTENT_LENGTH": str(len(EV))})
    with caplog.at_level("WARNING", logger="layer_webhook_guard"):
        call_wsgi(router_mw, environ)
    (record,) = [r for r in caplog.records if r.name == "layer_webhook_guard"]
    assert "incomplete_body" in record.getMessage()
    assert EV[:20].decode() not in record.getMessage()


ROUTABLE_VARIANTS = [
    pytest.param("/" + PATH, id="leading-double-slash"),
    pytest.param("/layer//webhooks", id="inner-double-slash"),
    pytest.param(PATH + "//", id="two-trailing-slashes"),
    pytest.param(PATH + "\n", id="trailing-newline"),
]


@pytest.mark.parametrize("path", ROUTABLE_VARIANTS)
def test_routable_variants_pass_through_in_router_mode(path: str, recorder: Recorder, downstream: Downstream) -> None:
    mw = WSGIWebhookMiddleware(downstream, secret=SECRET, router=recorder.router)
    environ = environ_for(EV, signed(EV))
    environ["PATH_INFO"] = path  # as a server passes it, unparsed
    assert call_wsgi(mw, environ).status == 200
    assert len(downstream.calls) == 1 and recorder.seen == []


@pytest.mark.parametrize("path", ROUTABLE_VARIANTS)
def test_routable_variants_are_guarded_in_guard_mode(path: str, downstream: Downstream) -> None:
    # Werkzeug merges repeated slashes when routing: a guard that matched only
    # the exact path would let "//layer/webhooks" reach the protected view.
    mw = WSGIWebhookMiddleware(downstream, secret=SECRET)
    environ = environ_for(EV, {"layer-webhook-signature": "0" * 40})
    environ["PATH_INFO"] = path  # as a server passes it, unparsed
    assert call_wsgi(mw, environ).status == 401
    assert downstream.calls == []


def test_flask_view_behind_guard_never_sees_double_slash_forgery() -> None:
    flask = pytest.importorskip("flask")
    app = flask.Flask(__name__)
    ran: list[bytes] = []

    @app.post(PATH)
    def view() -> str:
        ran.append(flask.request.get_data())
        return "view ran"

    app.wsgi_app = WSGIWebhookMiddleware(app.wsgi_app, secret=SECRET)  # type: ignore[method-assign]
    client = app.test_client()
    for path in ("/" + PATH, "//" + PATH, "/layer//webhooks"):
        forged = {"layer-webhook-signature": "0" * 40}
        # The raw path as gunicorn passes it (a test-client URL would parse "//x" as a host).
        response = client.post(PATH, data=EV, headers=forged, environ_overrides={"PATH_INFO": path})
        assert response.status_code == 401
    unguarded = flask.Flask(__name__)
    unguarded.post(PATH)(view)
    # Without the guard, Werkzeug does route the variant to the view: the test can fail.
    assert unguarded.test_client().post(PATH, data=EV, environ_overrides={"PATH_INFO": "/" + PATH}).status_code == 200
    assert ran == [EV]  # only the unguarded app's request
