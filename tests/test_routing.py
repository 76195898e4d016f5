from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from layer_webhook_guard import HandlerError, PermanentError, WebhookEvent, WebhookRouter


def ev(event_type: str = "message.sent") -> WebhookEvent:
    return WebhookEvent.from_body(b'{"event":{"type":"%s","id":"e1"}}' % event_type.encode())


@pytest.fixture
def router() -> WebhookRouter:
    return WebhookRouter()


def test_handlers_run_in_registration_order(router: WebhookRouter) -> None:
    calls: list[str] = []
    router.on("message.sent")(lambda e: calls.append("first"))
    router.on("*")(lambda e: calls.append("star"))
    router.on("message.sent", "message.read")(lambda e: calls.append("third"))
    assert router.dispatch(ev()) is None
    assert calls == ["first", "star", "third"]


@pytest.mark.parametrize(
    ("pattern", "event_type", "runs"),
    [
        pytest.param("conversation.updated.*", "conversation.updated.metadata", True, id="prefix-child"),
        pytest.param("conversation.updated.*", "conversation.updated.a.b", True, id="prefix-deeper"),
        pytest.param("conversation.updated.*", "conversation.updated", False, id="prefix-not-itself"),
        pytest.param("conversation.updated.*", "conversation.updatedx", False, id="prefix-not-sibling"),
        pytest.param("*", "anything.at.all", True, id="star"),
        pytest.param("message.created", "Message.created", False, id="case-sensitive"),
        pytest.param("message.sent", "message.sent", True, id="exact"),
    ],
)
def test_pattern_matching(router: WebhookRouter, pattern: str, event_type: str, runs: bool) -> None:
    calls: list[str] = []
    router.on(pattern)(lambda e: calls.append(e.type))
    router.dispatch(ev(event_type))
    assert calls == ([event_type] if runs else [])


def test_handler_runs_once_even_if_several_patterns_match(router: WebhookRouter) -> None:
    calls: list[int] = []

    @router.on("message.sent", "message.*", "*")
    def handler(event: WebhookEvent) -> None:
        calls.append(1)

    router.on("message.sent")(handler)
    router.dispatch(ev())
    assert calls == [1]


def test_unknown_type_runs_nothing(router: WebhookRouter) -> None:
    calls: list[int] = []
    router.on("message.sent")(lambda e: calls.append(1))
    router.dispatch(ev("user.registered"))
    assert calls == [] and not router.has_handlers("user.registered")


@pytest.mark.parametrize("pattern", ["", "  ", "mess*age", "*.sent", "a.*.b"])
def test_bad_patterns_refused(router: WebhookRouter, pattern: str) -> None:
    with pytest.raises((TypeError, ValueError)):
        router.on(pattern)


def test_failures_do_not_stop_other_handlers_and_raise(router: WebhookRouter) -> None:
    calls: list[str] = []
    hooked: list[tuple[str, str]] = []
    boom = RuntimeError("boom")

    @router.on("message.sent")
    def first(event: WebhookEvent) -> None:
        raise boom

    router.on("message.sent")(lambda e: calls.append("second"))
    router.on_error(lambda e, exc: hooked.append((e.type, str(exc))))
    with pytest.raises(HandlerError) as info:
        router.dispatch(ev())
    assert info.value.failures == (boom,)
    assert calls == ["second"]
    assert hooked == [("message.sent", "boom")]


def test_permanent_error_is_acknowledged_logged_and_hooked(
    router: WebhookRouter, caplog: pytest.LogCaptureFixture
) -> None:
    hooked: list[BaseException] = []

    @router.on("message.sent")
    def handler(event: WebhookEvent) -> None:
        raise PermanentError("cannot ever work")

    router.on_error(lambda e, exc: hooked.append(exc))
    with caplog.at_level(logging.WARNING, logger="layer_webhook_guard"):
        assert router.dispatch(ev()) is None
    assert len(hooked) == 1 and isinstance(hooked[0], PermanentError)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "e1" in warnings[0].getMessage()


def test_crash_logged_at_error_with_traceback(router: WebhookRouter, caplog: pytest.LogCaptureFixture) -> None:
    router.on("*")(lambda e: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="layer_webhook_guard"), pytest.raises(HandlerError):
        router.dispatch(ev())
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError


def test_failing_hook_does_not_hide_the_failure(router: WebhookRouter) -> None:
    router.on("*")(lambda e: 1 / 0)

    @router.on_error
    def bad_hook(event: WebhookEvent, exc: BaseException) -> None:
        raise ValueError("hook broke")

    with pytest.raises(HandlerError) as info:
        router.dispatch(ev())
    assert isinstance(info.value.failures[0], ZeroDivisionError)


def test_async_handlers_from_sync_dispatch(router: WebhookRouter) -> None:
    calls: list[str] = []

    @router.on("message.sent")
    async def handler(event: WebhookEvent) -> None:
        await asyncio.sleep(0)
        calls.append(event.type)

    router.dispatch(ev())
    assert calls == ["message.sent"]


def test_sync_dispatch_inside_running_loop_still_runs_async_handler(router: WebhookRouter) -> None:
    calls: list[str] = []

    @router.on("*")
    async def handler(event: WebhookEvent) -> None:
        calls.append("ran")

    async def main() -> None:
        router.dispatch(ev())

    asyncio.run(main())
    assert calls == ["ran"]


def test_dispatch_async_awaits_async_and_threads_sync(router: WebhookRouter) -> None:
    loop_thread: list[int] = []
    seen: dict[str, int] = {}

    @router.on("*")
    async def async_handler(event: WebhookEvent) -> None:
        seen["async"] = threading.get_ident()

    @router.on("*")
    def sync_handler(event: WebhookEvent) -> None:
        seen["sync"] = threading.get_ident()

    async def main() -> None:
        loop_thread.append(threading.get_ident())
        await router.dispatch_async(ev())

    asyncio.run(main())
    assert seen["async"] == loop_thread[0]
    assert seen["sync"] != loop_thread[0]


def test_dispatch_async_failures_and_hooks(router: WebhookRouter) -> None:
    hooked: list[Any] = []

    @router.on("*")
    async def bad(event: WebhookEvent) -> None:
        raise KeyError("k")

    @router.on("*")
    def permanent(event: WebhookEvent) -> None:
        raise PermanentError("never")

    @router.on_error
    async def hook(event: WebhookEvent, exc: BaseException) -> None:
        hooked.append(type(exc))

    router.on_error(lambda e, exc: hooked.append("sync-hook"))
    with pytest.raises(HandlerError) as info:
        asyncio.run(router.dispatch_async(ev()))
    assert [type(f) for f in info.value.failures] == [KeyError]
    assert hooked == [KeyError, "sync-hook", PermanentError, "sync-hook"]


def test_sync_handler_does_not_block_event_loop(router: WebhookRouter) -> None:
    gate = threading.Event()

    @router.on("*")
    def slow(event: WebhookEvent) -> None:
        # Finishes only once the loop ran something else concurrently.
        if not gate.wait(timeout=5):
            raise TimeoutError("event loop was blocked")

    async def main() -> None:
        task = asyncio.create_task(router.dispatch_async(ev()))
        await asyncio.sleep(0.01)
        gate.set()
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(main())


def test_add_without_decorator(router: WebhookRouter) -> None:
    calls: list[str] = []
    router.add(lambda e: calls.append(e.type), "message.read")
    router.dispatch(ev("message.read"))
    assert calls == ["message.read"]
    with pytest.raises(TypeError):
        router.add("not callable", "x")  # type: ignore[arg-type]


def test_registration_after_dispatch_is_seen(router: WebhookRouter) -> None:
    calls: list[str] = []
    router.dispatch(ev())
    router.on("message.sent")(lambda e: calls.append("late"))
    router.dispatch(ev())
    assert calls == ["late"]


def test_dispatch_async_custom_sync_runner(router: WebhookRouter) -> None:
    ran: list[str] = []
    routed: list[str] = []

    async def runner(func: Any, *args: Any) -> Any:
        routed.append(getattr(func, "__name__", "?"))
        return func(*args)

    @router.on("*")
    def sync_handler(event: WebhookEvent) -> None:
        ran.append("sync")

    @router.on("*")
    async def async_handler(event: WebhookEvent) -> None:
        ran.append("async")

    asyncio.run(router.dispatch_async(ev(), run_sync=runner))
    assert ran == ["sync", "async"] and routed == ["sync_handler"]


@pytest.mark.parametrize(
    "types",
    [pytest.param((), id="none"), pytest.param((123,), id="int"), pytest.param(("message.**x",), id="bad-pattern")],
)
def test_add_validates_like_on(router: WebhookRouter, types: tuple[object, ...]) -> None:
    with pytest.raises((TypeError, ValueError)):
        router.add(lambda e: None, *types)  # type: ignore[arg-type]


def test_unhashable_callable_handler(router: WebhookRouter) -> None:
    from dataclasses import dataclass, field

    @dataclass
    class Collector:  # dataclasses with eq=True are unhashable
        seen: list[str] = field(default_factory=list)

        def __call__(self, event: WebhookEvent) -> None:
            self.seen.append(event.type)

    collector = Collector()
    router.add(collector, "message.sent", "*")
    router.dispatch(ev())
    assert collector.seen == ["message.sent"]


@pytest.mark.parametrize("spec", ["cli_routers.router", "cli_routers:router"], ids=["dotted", "colon"])
def test_load_router_from_a_path(spec: str) -> None:
    import cli_routers

    from layer_webhook_guard.routing import load_router

    assert load_router(spec) is cli_routers.router
    assert load_router(cli_routers.router) is cli_routers.router


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("nomodule", "is not a path", id="no-dot"),
        pytest.param("no_such_module_x.router", "cannot import", id="unimportable"),
        pytest.param("cli_routers.nothing", "has no attribute", id="no-attribute"),
        pytest.param("json.loads", "must be a WebhookRouter", id="wrong-type"),
        pytest.param(42, "must be a WebhookRouter", id="not-a-path"),
    ],
)
def test_load_router_errors_name_the_setting(spec: object, message: str) -> None:
    from layer_webhook_guard import ConfigurationError
    from layer_webhook_guard.routing import load_router

    with pytest.raises(ConfigurationError, match=message) as info:
        load_router(spec, name="LAYER_WEBHOOK_ROUTER")
    assert str(info.value).startswith("LAYER_WEBHOOK_ROUTER")
