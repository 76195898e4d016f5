"""Routing verified events to handler functions.

The router only ever sees events whose signature has been verified. It makes
sure no failure is lost: every matching handler runs even when an earlier
one fails, every failure is logged and passed to the error hooks, and any
failure other than :class:`PermanentError` is raised as :class:`HandlerError`
so the receiver answers 500 and Layer retries the delivery.

Sync and async differ only in how a handler is called: ``dispatch`` runs
coroutine handlers to completion; ``dispatch_async`` awaits them and runs
plain functions in a worker thread so the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from .errors import ConfigurationError, HandlerError, PermanentError
from .events import WebhookEvent

__all__ = ["ErrorHook", "Handler", "SyncRunner", "WebhookRouter", "load_router"]

logger = logging.getLogger("layer_webhook_guard")

Handler = Callable[[WebhookEvent], Awaitable[None] | Any | None]
ErrorHook = Callable[[WebhookEvent, BaseException], Awaitable[None] | Any | None]
H = TypeVar("H", bound=Callable[..., Any])
#: ``run_sync(func, *args)`` returns an awaitable of ``func(*args)`` run off the
#: event loop; ``asyncio.to_thread`` by default. Django passes
#: ``sync_to_async(..., thread_sensitive=True)`` so handlers using the ORM run
#: where Django manages their connections.
SyncRunner = Callable[..., Awaitable[Any]]

_MAX_CACHED_TYPES = 512


def _pattern_matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def _check_patterns(patterns: Sequence[object]) -> None:
    if not patterns:
        raise TypeError("register a handler for at least one event type")
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip():
            raise TypeError("event types must be non-empty strings")
        if "*" in pattern and pattern != "*" and not (pattern.endswith(".*") and "*" not in pattern[:-2]):
            raise ValueError(f"unsupported pattern {pattern!r}: use 'prefix.*' or '*'")


def _run_sync(result: Any) -> Any:
    """Finish what a handler returned when called from synchronous code."""
    if not inspect.isawaitable(result):
        return result

    async def wait() -> Any:
        return await result

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    # A loop already runs in this thread (sync dispatch from async code):
    # run the coroutine to completion on a loop of its own in another thread.
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(wait())
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="layer-webhook-handler")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


async def _call_async(func: Callable[..., Any], *args: Any, run_sync: SyncRunner | None = None) -> Any:
    if inspect.iscoroutinefunction(func):
        return await func(*args)
    result = await (run_sync or asyncio.to_thread)(func, *args)
    if inspect.isawaitable(result):
        return await result
    return result


class WebhookRouter:
    """Maps event types (or ``prefix.*`` / ``*`` patterns) to handlers.

    >>> router = WebhookRouter()
    >>> @router.on("message.sent")
    ... def handle(event): ...
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, Callable[..., Any]]] = []
        self._error_hooks: list[ErrorHook] = []
        self._cache: dict[str, tuple[Callable[..., Any], ...]] = {}

    def on(self, *event_types: str) -> Callable[[H], H]:
        """Register the decorated function for one or more event types."""
        _check_patterns(event_types)

        def decorator(func: H) -> H:
            self.add(func, *event_types)
            return func

        return decorator

    def add(self, handler: Callable[..., Any], *event_types: str) -> None:
        """Register ``handler`` without decorator syntax."""
        if not callable(handler):
            raise TypeError("a handler must be callable")
        _check_patterns(event_types)
        for pattern in event_types:
            self._routes.append((pattern, handler))
        self._cache.clear()

    def on_error(self, hook: H) -> H:
        """Register ``hook(event, exception)``, called for each failing handler."""
        if not callable(hook):
            raise TypeError("an error hook must be callable")
        self._error_hooks.append(hook)
        return hook

    def handlers_for(self, event_type: str) -> tuple[Callable[..., Any], ...]:
        """The handlers that run for ``event_type``, in registration order."""
        found = self._cache.get(event_type)
        if found is None:
            # Keyed by identity: handlers need not be hashable.
            seen: dict[int, Callable[..., Any]] = {}
            for pattern, handler in self._routes:
                if id(handler) not in seen and _pattern_matches(pattern, event_type):
                    seen[id(handler)] = handler
            found = tuple(seen.values())
            if len(self._cache) >= _MAX_CACHED_TYPES:
                self._cache.clear()
            self._cache[event_type] = found
        return found

    def has_handlers(self, event_type: str) -> bool:
        return bool(self.handlers_for(event_type))

    # -- dispatch ---------------------------------------------------------

    def dispatch(self, event: WebhookEvent) -> None:
        """Run every matching handler; raise HandlerError if any failed."""
        failures: list[BaseException] = []
        for handler in self.handlers_for(event.type):
            try:
                _run_sync(handler(event))
            except Exception as exc:
                self._record(event, handler, exc, failures)
                for hook in self._error_hooks:
                    try:
                        _run_sync(hook(event, exc))
                    except Exception:
                        self._hook_failed(event, hook)
        self._finish(failures)

    async def dispatch_async(self, event: WebhookEvent, *, run_sync: SyncRunner | None = None) -> None:
        """Like :meth:`dispatch`; sync handlers and hooks run through
        ``run_sync`` (default: a worker thread via ``asyncio.to_thread``)."""
        failures: list[BaseException] = []
        for handler in self.handlers_for(event.type):
            try:
                await _call_async(handler, event, run_sync=run_sync)
            except Exception as exc:
                self._record(event, handler, exc, failures)
                for hook in self._error_hooks:
                    try:
                        await _call_async(hook, event, exc, run_sync=run_sync)
                    except Exception:
                        self._hook_failed(event, hook)
        self._finish(failures)

    @staticmethod
    def _record(
        event: WebhookEvent, handler: Callable[..., Any], exc: Exception, failures: list[BaseException]
    ) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        if isinstance(exc, PermanentError):
            logger.warning(
                "handler %s gave up on event %s (type %s) permanently: %s; acknowledged",
                name,
                event.id,
                event.type,
                exc,
            )
            return
        failures.append(exc)
        logger.error("handler %s failed on event %s (type %s)", name, event.id, event.type, exc_info=exc)

    @staticmethod
    def _hook_failed(event: WebhookEvent, hook: Callable[..., Any]) -> None:
        name = getattr(hook, "__qualname__", repr(hook))
        logger.exception("error hook %s failed on event %s", name, event.id)

    @staticmethod
    def _finish(failures: Sequence[BaseException]) -> None:
        if failures:
            raise HandlerError(failures)

    def __repr__(self) -> str:
        return f"<WebhookRouter {len(self._routes)} route(s)>"


def load_router(spec: object, *, name: str = "router") -> WebhookRouter:
    """A ``WebhookRouter``, given as itself or as a path to import.

    ``spec`` is ``"package.module.attribute"`` or ``"package.module:attribute"``.
    Every failure, including an exception raised while the user's module
    imports, is a :class:`ConfigurationError` whose message starts with
    ``name`` (the setting or option that held ``spec``).
    """
    if isinstance(spec, str):
        module_name, sep, attr = spec.partition(":")
        if not sep:
            module_name, _, attr = spec.rpartition(".")
        if not module_name or not attr:
            raise ConfigurationError(
                f"{name}: {spec!r} is not a path such as 'myapp.hooks.router' or 'myapp.hooks:router'"
            )
        try:
            found: Any = importlib.import_module(module_name)
        except (ImportError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"{name}: cannot import {module_name!r}: {exc}") from exc
        except Exception as exc:  # the user's module raised while importing
            raise ConfigurationError(f"{name}: importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
        try:
            for part in attr.split("."):
                found = getattr(found, part)
        except AttributeError:
            raise ConfigurationError(f"{name}: {module_name} has no attribute {attr!r}") from None
        spec = found
    if not isinstance(spec, WebhookRouter):
        raise ConfigurationError(f"{name} must be a WebhookRouter or its path, not {type(spec).__name__}")
    return spec
