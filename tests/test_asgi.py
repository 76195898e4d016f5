"""The pure ASGI shell (layer_webhook_guard.asgi) driven by a hand-written channel."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import subprocess
import sys
import threading
from typing import Any

import pytest
from asgi_support import (
    MAX_BODY,
    PATH,
    ROUTER_ROWS,
    SECRET,
    Channel,
    ProbeApp,
    Recorder,
    Row,
    asgi_headers,
    body_messages,
    call,
    check_row,
    chunk_messages,
    http_scope,
    recording_router,
    router_row_request,
    run,
    signed_headers,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT, event_body, layer_headers, reference_sign, samples

from layer_webhook_guard import ConfigurationError, WebhookEvent, WebhookRouter
from layer_webhook_guard.asgi import EVENT_KEY, ASGIWebhookApp, ASGIWebhookMiddleware, route_path

# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def recorded() -> tuple[WebhookRouter, Recorder]:
    return recording_router()


@pytest.fixture
def probe() -> ProbeApp:
    return ProbeApp()


@pytest.fixture(params=["middleware", "app"])
def router_endpoint(request: pytest.FixtureRequest, recorded: tuple[WebhookRouter, Recorder], probe: ProbeApp) -> Any:
    """Router mode, once as middleware in front of ``probe``, once as the standalone app."""
    router, _ = recorded
    if request.param == "middleware":
        return ASGIWebhookMiddleware(probe, secret=SECRET, router=router, max_body_size=MAX_BODY)
    return ASGIWebhookApp(router, secret=SECRET, max_body_size=MAX_BODY)


@pytest.fixture
def guard(probe: ProbeApp) -> ASGIWebhookMiddleware:
    return ASGIWebhookMiddleware(probe, secret=SECRET, max_body_size=MAX_BODY)


# -- CONTRACT.md section 4, router mode ---------------------------------------------------


@pytest.mark.parametrize("row", ROUTER_ROWS)
def test_router_mode_rows(
    row: Row, router_endpoint: Any, recorded: tuple[WebhookRouter, Recorder], probe: ProbeApp
) -> None:
    scope, channel = router_row_request(row)
    run(call(router_endpoint, scope, channel))
    check_row(row, channel, recorded[1])
    assert probe.scopes == []  # the wrapped app never sees the webhook path in router mode


def test_handler_sees_the_exact_signed_sample(router_endpoint: Any, recorded: tuple[WebhookRouter, Recorder]) -> None:
    sample = next(s for s in samples(compact=False) if s.event_type == "message.sent")
    headers = asgi_headers(
        layer_headers(sample.body, SECRET, sample.event_type, signature=sample.signature), sample.body
    )
    channel = run(call(router_endpoint, http_scope(headers=headers), Channel(body_messages(sample.body, 5))))
    assert channel.status == 204
    [(name, event)] = recorded[1].calls
    assert name == "sent"
    assert event.body == sample.body
    assert event.type == "message.sent"
    assert event.headers["layer-webhook-id"] == "6a3b1e49-9ef8-4a52-9a1a-0f1f0d5a7b52"


# -- CONTRACT.md section 4, guard mode ---------------------------------------------------------

_SENT = event_body("message.sent")
_FORM = b"name=value&other=1"
_UNSIGNED = tuple((k, v) for k, v in signed_headers(_SENT) if k != b"layer-webhook-signature")


def _guard_row(
    method: str,
    *,
    query: bytes = b"",
    headers: Any = (),
    body: bytes = b"",
    parts: int = 1,
    status: int = 299,
    forwarded: bool = True,
    event_type: str | None = None,
    error: str | None = None,
    response: bytes | None = None,
) -> dict[str, Any]:
    return {
        "method": method,
        "query": query,
        "headers": list(headers),
        "messages": body_messages(body, parts),
        "body": body,
        "status": status,
        "forwarded": forwarded,
        "event_type": event_type,
        "error": error,
        "response": response,
    }


def _form_headers(body: bytes, *extra: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return asgi_headers(
        [
            ("content-type", "application/x-www-form-urlencoded"),
            ("layer-webhook-signature", reference_sign(body, SECRET)),
            *extra,
        ],
        body,
    )


GUARD_ROWS = [
    pytest.param(
        _guard_row("GET", query=b"verification_challenge=xyz", status=200, forwarded=False, response=b"xyz"),
        id="challenge-answered-by-guard",
    ),
    pytest.param(
        _guard_row("HEAD", query=b"verification_challenge=xyz", status=200, forwarded=False, response=b""),
        id="challenge-head-no-body",
    ),
    pytest.param(_guard_row("GET"), id="get-passes-to-app"),
    pytest.param(_guard_row("HEAD"), id="head-passes-to-app"),
    pytest.param(
        _guard_row("POST", headers=signed_headers(_SENT), body=_SENT, event_type="message.sent"),
        id="signed-event-forwarded",
    ),
    pytest.param(
        _guard_row("POST", headers=signed_headers(_SENT), body=_SENT, parts=9, event_type="message.sent"),
        id="signed-event-split-forwarded",
    ),
    pytest.param(
        _guard_row("PUT", headers=signed_headers(_SENT), body=_SENT, event_type="message.sent"),
        id="signed-put-forwarded",
    ),
    pytest.param(_guard_row("POST", headers=_form_headers(_FORM), body=_FORM), id="signed-form-event-none"),
    pytest.param(
        _guard_row("POST", headers=_form_headers(_FORM, ("layer-webhook-event-type", "message.sent")), body=_FORM),
        id="signed-form-with-type-header-event-none",
    ),
    pytest.param(_guard_row("POST", headers=_form_headers(b"")), id="signed-empty-body-forwarded"),
    pytest.param(
        _guard_row("POST", headers=_UNSIGNED, body=_SENT, status=401, forwarded=False, error="missing_signature"),
        id="unsigned-post-401",
    ),
    pytest.param(
        _guard_row("OPTIONS", headers=_UNSIGNED, body=_SENT, status=401, forwarded=False, error="missing_signature"),
        id="unsigned-options-401",
    ),
    pytest.param(
        _guard_row("DELETE", status=401, forwarded=False, error="missing_signature"), id="unsigned-delete-401"
    ),
    pytest.param(
        _guard_row(
            "POST",
            headers=signed_headers(_SENT, secret="wrong"),
            body=_SENT,
            status=401,
            forwarded=False,
            error="invalid_signature",
        ),
        id="wrong-signature-401",
    ),
    pytest.param(
        _guard_row(
            "POST",
            headers=signed_headers(_SENT, "message.read"),
            body=_SENT,
            status=400,
            forwarded=False,
            error="event_type_mismatch",
        ),
        id="type-mismatch-400",
    ),
    pytest.param(
        _guard_row(
            "POST",
            headers=[*_UNSIGNED[:-1], (b"content-length", b"99999")],
            body=_SENT,
            status=413,
            forwarded=False,
            error="payload_too_large",
        ),
        id="declared-too-large-413",
    ),
    pytest.param(
        _guard_row(
            "POST",
            headers=[*signed_headers(_SENT), (b"content-encoding", b"br")],
            body=_SENT,
            status=415,
            forwarded=False,
            error="unsupported_content_encoding",
        ),
        id="encoded-415",
    ),
    pytest.param(
        _guard_row(
            "POST",
            headers=[(b"layer-webhook-signature", b"0" * 40), (b"transfer-encoding", b"chunked")],
            body=b"x" * (MAX_BODY + 1),
            parts=3,
            status=413,
            forwarded=False,
            error="payload_too_large",
        ),
        id="chunked-too-large-413",
    ),
]


@pytest.mark.parametrize("row", GUARD_ROWS)
def test_guard_mode_rows(row: dict[str, Any], guard: ASGIWebhookMiddleware, probe: ProbeApp) -> None:
    scope = http_scope(row["method"], query=row["query"], headers=row["headers"])
    channel = run(call(guard, scope, Channel(row["messages"])))
    assert channel.status == row["status"], channel.body
    if row["response"] is not None:
        assert channel.body == row["response"]
    if row["error"] is not None:
        assert json.loads(channel.body) == {"error": row["error"]}
    if not row["forwarded"]:
        assert probe.scopes == []
        return
    [seen_scope] = probe.scopes
    assert probe.bodies == [row["body"]]
    assert channel.body == row["body"]
    if row["method"] in ("GET", "HEAD"):
        assert seen_scope is scope  # passed through untouched
        assert seen_scope.get(EVENT_KEY) is None
        return
    event = seen_scope[EVENT_KEY]
    assert seen_scope["state"][EVENT_KEY] is event
    if row["event_type"] is None:
        assert event is None
    else:
        assert isinstance(event, WebhookEvent)
        assert event.type == row["event_type"]
        assert event.body == row["body"]


def test_guard_replays_identical_bytes_as_one_message(guard: ASGIWebhookMiddleware, probe: ProbeApp) -> None:
    sample = next(s for s in samples(compact=False) if s.event_type == "message.sent")
    headers = asgi_headers(
        layer_headers(sample.body, SECRET, sample.event_type, signature=sample.signature), sample.body
    )
    channel = Channel(body_messages(sample.body, 6))
    run(call(guard, http_scope(headers=headers), channel))
    assert channel.status == 299
    assert probe.messages == [{"type": "http.request", "body": sample.body, "more_body": False}]
    assert channel.receive_calls == 6  # all drained by the guard, before the app ran


def test_guard_later_receive_reaches_the_real_channel(probe: ProbeApp) -> None:
    probe.listen_after = True
    guard = ASGIWebhookMiddleware(probe, secret=SECRET)
    channel = Channel(body_messages(_SENT, 2), then={"type": "http.disconnect", "marker": "real"})
    run(call(guard, http_scope(headers=signed_headers(_SENT)), channel))
    assert probe.after == [{"type": "http.disconnect", "marker": "real"}]
    assert channel.receive_calls == 3


def test_guard_verifies_a_route_that_never_reads_the_body() -> None:
    lazy = ProbeApp(read_body=False)
    guard = ASGIWebhookMiddleware(lazy, secret=SECRET)
    channel = run(call(guard, http_scope(headers=signed_headers(_SENT, secret="wrong")), Channel(body_messages(_SENT))))
    assert channel.status == 401
    assert lazy.scopes == []

    channel = run(call(guard, http_scope(headers=signed_headers(_SENT)), Channel(body_messages(_SENT, 3))))
    assert channel.status == 299
    assert channel.receive_calls == 3  # the guard read and verified it anyway
    assert lazy.scopes[0][EVENT_KEY].type == "message.sent"


@pytest.mark.parametrize(
    "state",
    [pytest.param({"db": "pool"}, id="existing-state"), pytest.param(None, id="no-state")],
)
def test_guard_attaches_event_to_copies_of_scope_and_state(
    state: dict[str, Any] | None, guard: ASGIWebhookMiddleware, probe: ProbeApp
) -> None:
    scope = http_scope(headers=signed_headers(_SENT), state=state)
    run(call(guard, scope, Channel(body_messages(_SENT))))
    [seen] = probe.scopes
    assert seen is not scope
    assert EVENT_KEY not in scope  # the caller's scope and state are left alone
    if state is not None:
        assert state == {"db": "pool"}
        assert seen["state"]["db"] == "pool"
    assert seen["state"][EVENT_KEY] is seen[EVENT_KEY]
    assert seen[EVENT_KEY].body == _SENT


# -- body intake edge cases -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["router", "guard"])
def test_body_past_cap_mid_stream_stops_receiving(mode: str, recorded: tuple[WebhookRouter, Recorder]) -> None:
    probe = ProbeApp()
    router = recorded[0] if mode == "router" else None
    app = ASGIWebhookMiddleware(probe, secret=SECRET, router=router, max_body_size=100)
    pieces = [b"a" * 40] * 10
    # Past the script the channel answers with a message the shell would choke on.
    channel = Channel(chunk_messages(pieces), then={"type": "test.must-not-be-received"})
    headers = [(b"layer-webhook-signature", b"0" * 40), (b"transfer-encoding", b"chunked")]
    run(call(app, http_scope(headers=headers), channel))
    assert channel.status == 413
    assert channel.receive_calls == 3  # 120 bytes > 100: no fourth receive()
    assert probe.scopes == []
    assert recorded[1].calls == []


@pytest.mark.parametrize("mode", ["router", "guard"])
@pytest.mark.parametrize(
    "script",
    [
        pytest.param([], id="before-any-body"),
        pytest.param([{"type": "http.request", "body": _SENT[:10], "more_body": True}], id="mid-body"),
    ],
)
def test_disconnect_while_reading_runs_nothing(
    mode: str,
    script: list[dict[str, Any]],
    recorded: tuple[WebhookRouter, Recorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    probe = ProbeApp()
    router = recorded[0] if mode == "router" else None
    app = ASGIWebhookMiddleware(probe, secret=SECRET, router=router)
    channel = Channel(script)
    with caplog.at_level(logging.INFO, logger="layer_webhook_guard"):
        run(call(app, http_scope(headers=signed_headers(_SENT)), channel))
    assert channel.sent == []
    assert probe.scopes == []
    assert recorded[1].calls == []
    assert "disconnected" in caplog.text


def test_more_body_after_declared_length_is_400(recorded: tuple[WebhookRouter, Recorder]) -> None:
    app = ASGIWebhookApp(recorded[0], secret=SECRET)
    # Exactly the declared bytes first, then the server keeps going.
    script = chunk_messages([_SENT, b"extra"])
    channel = run(call(app, http_scope(headers=signed_headers(_SENT)), Channel(script)))
    assert channel.status == 400
    assert json.loads(channel.body) == {"error": "body_length_mismatch"}
    assert recorded[1].calls == []


def test_empty_more_body_messages_are_not_end_of_body(recorded: tuple[WebhookRouter, Recorder]) -> None:
    app = ASGIWebhookApp(recorded[0], secret=SECRET)
    script = chunk_messages([b"", _SENT[:20], b"", _SENT[20:], b""])
    channel = run(call(app, http_scope(headers=signed_headers(_SENT)), Channel(script)))
    assert channel.status == 204
    assert recorded[1].names() == ["sent"]


# -- paths and scopes --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["router", "guard"])
@pytest.mark.parametrize(
    ("path", "root_path"),
    [
        pytest.param("/other", "", id="other-path"),
        pytest.param("/layer/webhooks/extra", "", id="below-the-path"),
        pytest.param("/layer/webhooksx", "", id="path-prefix-only"),
        pytest.param("/layer", "", id="parent"),
        pytest.param("/LAYER/webhooks", "", id="case-differs"),
        pytest.param("/api/layer/webhooks", "", id="outside-root-path"),
    ],
)
def test_other_paths_pass_through_untouched(
    mode: str, path: str, root_path: str, recorded: tuple[WebhookRouter, Recorder]
) -> None:
    probe = ProbeApp()
    router = recorded[0] if mode == "router" else None
    app = ASGIWebhookMiddleware(probe, secret=SECRET, router=router)
    scope = http_scope("POST", path, headers=[(b"content-length", b"5")], root_path=root_path)
    channel = Channel(body_messages(b"hello"))
    run(call(app, scope, channel))
    assert probe.scopes == [scope] and probe.scopes[0] is scope
    assert probe.receives == [channel.receive]  # the real channel, body unread by the guard
    assert probe.bodies == [b"hello"]
    assert channel.status == 299


ROUTABLE_VARIANTS = [
    pytest.param("//layer/webhooks", id="double-slash"),
    pytest.param("/layer//webhooks", id="inner-double-slash"),
    pytest.param("/layer/webhooks//", id="two-trailing-slashes"),
    pytest.param("/layer/webhooks\n", id="trailing-newline"),
]


@pytest.mark.parametrize("path", ROUTABLE_VARIANTS)
def test_routable_variants_pass_through_in_router_mode(path: str, recorded: tuple[WebhookRouter, Recorder]) -> None:
    probe = ProbeApp()
    app = ASGIWebhookMiddleware(probe, secret=SECRET, router=recorded[0])
    scope = http_scope("POST", path, headers=[(b"content-length", b"5")])
    channel = Channel(body_messages(b"hello"))
    run(call(app, scope, channel))
    assert probe.scopes == [scope] and probe.bodies == [b"hello"]


@pytest.mark.parametrize("path", ROUTABLE_VARIANTS)
def test_routable_variants_are_guarded_in_guard_mode(path: str) -> None:
    # Starlette's route regex matches "/layer/webhooks\n"; other routers merge
    # slashes: the guard must not under-match what the app may route.
    probe = ProbeApp()
    app = ASGIWebhookMiddleware(probe, secret=SECRET)
    scope = http_scope("POST", path, headers=[(b"content-length", b"5"), (b"layer-webhook-signature", b"0" * 40)])
    channel = Channel(body_messages(b"hello"))
    run(call(app, scope, channel))
    assert probe.scopes == [] and channel.status == 401


@pytest.mark.parametrize(
    ("configured", "path", "root_path"),
    [
        pytest.param("/layer/webhooks", "/layer/webhooks/", "", id="trailing-slash-tolerated"),
        pytest.param("/layer/webhooks/", "/layer/webhooks", "", id="configured-with-trailing-slash"),
        pytest.param("/layer/webhooks", "/api/layer/webhooks", "/api", id="path-includes-root-path"),
        pytest.param("/layer/webhooks", "/layer/webhooks", "/api", id="path-without-root-path"),
        pytest.param("/", "/", "", id="root-path-configured"),
    ],
)
def test_webhook_path_matching(
    configured: str, path: str, root_path: str, recorded: tuple[WebhookRouter, Recorder], probe: ProbeApp
) -> None:
    app = ASGIWebhookMiddleware(probe, secret=SECRET, router=recorded[0], path=configured)
    scope = http_scope("GET", path, query=b"verification_challenge=ok", root_path=root_path)
    channel = run(call(app, scope, Channel()))
    assert (channel.status, channel.body) == (200, b"ok")
    assert probe.scopes == []


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        pytest.param("/a/b", "", "/a/b", id="no-root"),
        pytest.param("/api/a", "/api", "/a", id="root-stripped"),
        pytest.param("/api", "/api", "", id="exactly-root"),
        pytest.param("/apiary/a", "/api", "/apiary/a", id="root-not-a-whole-segment"),
        pytest.param("/a", "/api", "/a", id="path-outside-root"),
    ],
)
def test_route_path(path: str, root_path: str, expected: str) -> None:
    assert route_path({"path": path, "root_path": root_path}) == expected


@pytest.mark.parametrize("mode", ["router", "guard"])
@pytest.mark.parametrize("kind", ["lifespan", "websocket"])
def test_non_http_scopes_pass_through(mode: str, kind: str, recorded: tuple[WebhookRouter, Recorder]) -> None:
    probe = ProbeApp()
    router = recorded[0] if mode == "router" else None
    app = ASGIWebhookMiddleware(probe, secret=SECRET, router=router)
    scope = {"type": kind, "path": PATH, "asgi": {"version": "3.0"}}
    channel = Channel([{"type": f"{kind}.startup" if kind == "lifespan" else "websocket.connect"}])
    run(call(app, scope, channel))
    assert probe.scopes == [scope] and probe.scopes[0] is scope
    assert probe.receives == [channel.receive]
    assert channel.receive_calls == 0


@pytest.mark.parametrize("path", ["/", "/layer/webhooks", "/mounted/anywhere/", ""])
def test_app_answers_at_any_path(path: str, recorded: tuple[WebhookRouter, Recorder]) -> None:
    app = ASGIWebhookApp(recorded[0], secret=SECRET)
    channel = run(call(app, http_scope("GET", path, query=b"verification_challenge=here"), Channel()))
    assert (channel.status, channel.body) == (200, b"here")
    channel = run(call(app, http_scope("POST", path, headers=signed_headers(_SENT)), Channel(body_messages(_SENT))))
    assert channel.status == 204


def test_app_lifespan_and_websocket(recorded: tuple[WebhookRouter, Recorder]) -> None:
    app = ASGIWebhookApp(recorded[0], secret=SECRET)
    channel = Channel([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    run(call(app, {"type": "lifespan", "asgi": {"version": "3.0"}}, channel))
    assert channel.sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]

    channel = Channel([{"type": "websocket.connect"}])
    run(call(app, {"type": "websocket", "path": "/"}, channel))
    assert channel.sent == [{"type": "websocket.close", "code": 1000}]

    with pytest.raises(RuntimeError, match="unsupported ASGI scope type"):
        run(call(app, {"type": "telepathy"}, Channel()))


# -- handlers on the event loop ----------------------------------------------------------------------


def test_sync_handler_that_blocks_does_not_stall_the_loop() -> None:
    """A sync handler waits until a second request has been served on the same loop.

    Were the handler run on the event loop, the second request could never
    run: the wait would time out and the handler would record it.
    """
    router = WebhookRouter()
    released = threading.Event()
    outcome: list[str] = []

    @router.on("message.delivered")
    def slow(event: WebhookEvent) -> None:
        outcome.append("released" if released.wait(timeout=5) else "stalled")

    @router.on("message.sent")
    async def quick(event: WebhookEvent) -> None:
        outcome.append("quick")
        released.set()

    app = ASGIWebhookApp(router, secret=SECRET)
    slow_body, quick_body = event_body("message.delivered"), event_body("message.sent")

    async def both() -> tuple[Channel, Channel]:
        first = asyncio.ensure_future(
            call(
                app,
                http_scope(headers=signed_headers(slow_body, "message.delivered")),
                Channel(body_messages(slow_body)),
            )
        )
        await asyncio.sleep(0)  # let the slow one reach its handler first
        second = await call(app, http_scope(headers=signed_headers(quick_body)), Channel(body_messages(quick_body)))
        return await first, second

    first, second = run(both(), timeout=20)
    assert (first.status, second.status) == (204, 204)
    assert outcome == ["quick", "released"]


def test_async_handlers_run_on_the_loop_sync_ones_in_a_worker(recorded: tuple[WebhookRouter, Recorder]) -> None:
    app = ASGIWebhookApp(recorded[0], secret=SECRET)
    sent, delivered = event_body("message.sent"), event_body("message.delivered")

    async def go() -> int:
        await call(app, http_scope(headers=signed_headers(sent)), Channel(body_messages(sent)))
        await call(
            app, http_scope(headers=signed_headers(delivered, "message.delivered")), Channel(body_messages(delivered))
        )
        return threading.get_ident()

    loop_thread = run(go())
    assert recorded[1].threads["sent"] == loop_thread
    assert recorded[1].threads["delivered"] != loop_thread


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"secret": None}, id="secret-none"),
        pytest.param({"secret": ""}, id="secret-empty"),
        pytest.param({"secret": "   "}, id="secret-whitespace"),
        pytest.param({"secret": SECRET, "path": "layer/webhooks"}, id="path-without-slash"),
        pytest.param({"secret": SECRET, "path": 42}, id="path-not-a-string"),
        pytest.param({"secret": SECRET, "router": object()}, id="router-wrong-type"),
        pytest.param({"secret": SECRET, "max_body_size": -1}, id="negative-cap"),
        pytest.param({"secret": SECRET, "algorithm": "md5"}, id="unknown-algorithm"),
    ],
)
def test_middleware_configuration_errors(kwargs: dict[str, Any], probe: ProbeApp) -> None:
    with pytest.raises(ConfigurationError):
        ASGIWebhookMiddleware(probe, **kwargs)


def test_app_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="needs a WebhookRouter"):
        ASGIWebhookApp(None, secret=SECRET)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        ASGIWebhookApp(WebhookRouter(), secret="")
    with pytest.raises(TypeError):
        ASGIWebhookApp(WebhookRouter())  # type: ignore[call-arg]


def test_repr_hides_the_secret(probe: ProbeApp) -> None:
    for obj in (ASGIWebhookMiddleware(probe, secret=SECRET), ASGIWebhookApp(WebhookRouter(), secret=SECRET)):
        assert SECRET not in repr(obj)
        assert SECRET not in repr(vars(obj) if hasattr(obj, "__dict__") else obj)


def test_asgi_module_imports_no_framework() -> None:
    code = (
        "import sys\n"
        "for name in ('starlette', 'fastapi', 'django', 'flask'): sys.modules[name] = None\n"
        "import layer_webhook_guard.asgi\n"
        "try:\n"
        "    import layer_webhook_guard.starlette\n"
        "except ImportError as exc:\n"
        "    print('refused:', exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout
    assert "pip install 'layer-webhook-guard[starlette]'" in done.stdout


# -- properties ------------------------------------------------------------------------------------------

_PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_PROPERTY
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(_SENT)), max_size=12))
def test_any_split_of_a_signed_body_verifies(cuts: list[int]) -> None:
    router, seen = recording_router()
    app = ASGIWebhookApp(router, secret=SECRET)
    points = sorted({0, *cuts, len(_SENT)})
    pieces = [_SENT[a:b] for a, b in itertools.pairwise(points)]
    channel = run(call(app, http_scope(headers=signed_headers(_SENT)), Channel(chunk_messages(pieces))))
    assert channel.status == 204
    assert [e.body for _, e in seen.calls] == [_SENT]


@_PROPERTY
@given(value=st.binary(max_size=120))
def test_any_signature_bytes_give_401_and_run_nothing(value: bytes) -> None:
    router, seen = recording_router()
    probe = ProbeApp()
    good = reference_sign(_SENT, SECRET).encode()
    # A value that is the right MAC in an accepted form is the only 2xx; exclude it.
    stripped = value.strip(b" \t").lower().removeprefix(b"sha1=")
    if stripped == good:
        return
    for app in (ASGIWebhookApp(router, secret=SECRET), ASGIWebhookMiddleware(probe, secret=SECRET)):
        headers = [
            *asgi_headers({"layer-webhook-event-type": "message.sent"}, _SENT),
            (b"layer-webhook-signature", value),
        ]
        channel = run(call(app, http_scope(headers=headers), Channel(body_messages(_SENT))))
        assert channel.status == 401
    assert seen.calls == []
    assert probe.scopes == []


@_PROPERTY
@given(position=st.integers(min_value=0, max_value=len(_SENT) - 1), flip=st.integers(min_value=1, max_value=255))
def test_any_changed_body_byte_gives_401(position: int, flip: int) -> None:
    router, seen = recording_router()
    app = ASGIWebhookApp(router, secret=SECRET)
    tampered = bytearray(_SENT)
    tampered[position] ^= flip
    channel = run(call(app, http_scope(headers=signed_headers(_SENT)), Channel(body_messages(bytes(tampered), 3))))
    assert channel.status == 401
    assert seen.calls == []
