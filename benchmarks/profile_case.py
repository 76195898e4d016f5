"""Profile one benchmark case: ``python benchmarks/profile_case.py CASE [--calls N]``.

The cases are the contenders of the figures, built exactly as ``run.py``
builds them, so a ratio in the table and the profile that explains it come
from the same code. cProfile by default (deterministic, counts calls; its
per-call overhead inflates small functions, so read it for *where*, and the
table for *how much*); ``--pyinstrument`` uses the sampling profiler when it
is installed (it is in the benchmark environment).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _apps import PATH, asgi_handwritten, asgi_not_found, router_async, router_sync, wsgi_handwritten, wsgi_not_found
from _bodies import MIB, SECRET, chunked, delivery, headers_for, sign
from _calls import asgi_runner, close_loops, wsgi_runner
from _harness import Runner, time_calls

from layer_webhook_guard import SignatureVerifier, WebhookReceiver, _json


def _verify(size: int) -> Runner:
    body = delivery(size)
    signature = sign(body)
    verifier = SignatureVerifier(SECRET)
    return time_calls(lambda: verifier.verify(body, signature))


def _delivery(size: int) -> Runner:
    body = delivery(size)
    chunks = chunked(body, 65536)
    headers = headers_for(body)
    receiver = WebhookReceiver(SECRET, router_sync(), max_body_size=2 * size)

    def one() -> None:
        intake = receiver.begin("POST", b"", headers)
        for chunk in chunks:
            intake.feed(chunk)
        intake.end()
        receiver.dispatch(intake.result())

    return time_calls(one)


def _json_loads(size: int) -> Runner:
    body = delivery(size)
    return time_calls(lambda: _json.loads(body))


def _wsgi(make: Callable[[], Callable[..., object]], path: str = PATH) -> Callable[[], Runner]:
    def build() -> Runner:
        body = delivery(2048)
        return wsgi_runner("case", make(), body, headers_for(body), path)

    return build


def _asgi(make: Callable[[], Callable[..., object]]) -> Callable[[], Runner]:
    def build() -> Runner:
        body = delivery(2048)
        return asgi_runner("case", make(), body, headers_for(body), PATH)

    return build


def _flask(kind: str) -> Callable[[], Callable[..., object]]:
    def make() -> Callable[..., object]:
        from _frameworks import flask_app

        return flask_app(kind)  # type: ignore[no-any-return]

    return make


def _starlette(kind: str) -> Callable[[], Callable[..., object]]:
    def make() -> Callable[..., object]:
        from _frameworks import starlette_app

        return starlette_app(kind)  # type: ignore[no-any-return]

    return make


def _django(kind: str) -> Callable[[], Runner]:
    def build() -> Runner:
        from _frameworks import django_handlers

        app, path = django_handlers()[kind]
        body = delivery(2048)
        return wsgi_runner("case", app, body, headers_for(body), path)

    return build


def _wsgi_middleware() -> Callable[..., object]:
    from layer_webhook_guard.wsgi import WSGIWebhookMiddleware

    return WSGIWebhookMiddleware(wsgi_not_found, secret=SECRET, router=router_sync())


def _asgi_middleware() -> Callable[..., object]:
    from layer_webhook_guard.asgi import ASGIWebhookMiddleware

    return ASGIWebhookMiddleware(asgi_not_found, secret=SECRET, router=router_async())


CASES: dict[str, Callable[[], Runner]] = {
    "verify-1k": lambda: _verify(1024),
    "verify-64k": lambda: _verify(65536),
    "delivery-1m": lambda: _delivery(MIB),
    "delivery-10m": lambda: _delivery(10 * MIB),
    "json-1m": lambda: _json_loads(MIB),
    "wsgi-handwritten": _wsgi(lambda: wsgi_handwritten),
    "wsgi-middleware": _wsgi(_wsgi_middleware),
    "asgi-handwritten": _asgi(lambda: asgi_handwritten),
    "asgi-middleware": _asgi(_asgi_middleware),
    "flask-handwritten": _wsgi(_flask("handwritten")),
    "flask-extension": _wsgi(_flask("extension")),
    "flask-protect": _wsgi(_flask("protect")),
    "starlette-handwritten": _asgi(_starlette("handwritten")),
    "starlette-middleware": _asgi(_starlette("middleware")),
    "starlette-route": _asgi(_starlette("route")),
    "django-handwritten": _django("handwritten"),
    "django-middleware": _django("middleware"),
    "django-view": _django("view"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--pyinstrument", action="store_true")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    run = CASES[args.case]()
    run(min(args.calls, 50))  # warm up
    try:
        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0001)
            profiler.start()
            took = run(args.calls)
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        else:
            prof = cProfile.Profile()
            prof.enable()
            took = run(args.calls)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
    finally:
        close_loops()
    print(f"{args.case}: {args.calls} calls, {took / args.calls * 1e6:.1f} µs per call (under the profiler)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
