"""The ``layer-webhook-guard`` command line (also ``python -m layer_webhook_guard``).

demo     run a receiver on 127.0.0.1 and send it what Layer sends
serve    run a standalone receiver for your router
send     act as Layer against your local server
sign     print the signature of a body's exact bytes
verify   check a signature; on a mismatch, name the likely cause

Bad use is one line on stderr and exit code 2, never a traceback. Secrets
come from ``--secret`` or, to keep them out of shell history, from an
environment variable (``LAYER_WEBHOOK_SECRET`` unless ``--secret-env``
names another); no secret is ever printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, NoReturn

from . import ConfigurationError, SignatureVerifier, WebhookRouter
from .routing import load_router
from .signing import SUPPORTED_ALGORITHMS

__all__ = ["main"]

PROG = "layer-webhook-guard"
DEFAULT_SECRET_ENV = "LAYER_WEBHOOK_SECRET"  # noqa: S105 - a variable name


#: Event types of Layer's webhooks 1.0/2.0 documentation.
DOCUMENTED_TYPES = frozenset(
    {
        "message.sent",
        "message.delivered",
        "message.read",
        "message.deleted",
        "conversation.created",
        "conversation.updated.participants",
        "conversation.updated.metadata",
        "conversation.deleted",
    }
)


class UsageError(Exception):
    """Bad use of the command: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {port}")
    return port


def _seconds(*, allow_zero: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not (value >= 0 if allow_zero else value > 0) or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be {'0 or more' if allow_zero else 'more than 0'} seconds")
        return value

    return parse


def _event_type(text: str) -> str:
    if not text or not text.isascii() or not text.isprintable() or " " in text:
        raise argparse.ArgumentTypeError(f"not an event type: {text!r}")
    return text


def _key(secret: str) -> bytes:
    # The bytes the secret had in argv or the environment, even if not UTF-8.
    return secret.encode("utf-8", "surrogateescape")


def _add_secret(p: argparse.ArgumentParser) -> None:
    p.add_argument("--secret", help=f"the shared secret (default: ${DEFAULT_SECRET_ENV})")
    p.add_argument("--secret-env", default=DEFAULT_SECRET_ENV, metavar="NAME", help="read the secret from $NAME")
    p.add_argument("--algorithm", default="sha1", choices=sorted(SUPPORTED_ALGORITHMS), help="HMAC digest (sha1)")


def _secret(args: argparse.Namespace) -> str:
    secret = args.secret if args.secret is not None else os.environ.get(args.secret_env)
    if not secret:
        raise UsageError(f"no secret: pass --secret or set ${args.secret_env}")
    return str(secret)


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _build_parser() -> _Parser:
    parser = _Parser(prog=PROG, description="Verify, answer and route Layer webhook deliveries.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="run a receiver on 127.0.0.1 and send it what Layer sends")
    demo.add_argument("--delay", type=_seconds(allow_zero=True), default=0.0, help="seconds to wait between requests")
    demo.add_argument("--port", type=_port, default=0, help="port to listen on (default: a free one)")

    serve = sub.add_parser("serve", help="run a standalone receiver for your router")
    _add_secret(serve)
    serve.add_argument(
        "--router", required=True, metavar="MODULE:ATTR", help="your WebhookRouter, e.g. app.hooks:router"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--path", default="/layer/webhooks")
    serve.add_argument("--max-body-size", type=int, default=1_048_576, metavar="BYTES")

    send = sub.add_parser("send", help="act as Layer: sign and POST a delivery to your server")
    send.add_argument("url")
    _add_secret(send)
    what = send.add_mutually_exclusive_group(required=True)
    what.add_argument("--event", metavar="TYPE", type=_event_type, help="send a generated event of this type")
    what.add_argument("--file", metavar="PAYLOAD", help="send this file's exact bytes ('-' for stdin)")
    send.add_argument("--challenge", action="store_true", help="send the verification challenge first")
    send.add_argument(
        "--timeout", type=_seconds(allow_zero=False), default=5.0, help="seconds to wait for an answer (default 5)"
    )

    sign = sub.add_parser("sign", help="print the signature of a body's exact bytes")
    sign.add_argument("file", nargs="?", default="-", help="the body (default: stdin)")
    _add_secret(sign)

    verify = sub.add_parser("verify", help="check a signature and diagnose a mismatch")
    verify.add_argument("file", nargs="?", default="-", help="the body (default: stdin)")
    verify.add_argument("--signature", required=True, help="the layer-webhook-signature value")
    _add_secret(verify)
    verify.add_argument(
        "--other-secret",
        action="append",
        default=[],
        metavar="SECRET",
        help="another secret you have configured somewhere (repeatable); checked as a cause",
    )
    return parser


# -- commands -----------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    try:
        return run_demo(sys.stdout, delay=args.delay, port=args.port)
    except BrokenPipeError:  # stdout closed early (e.g. piped into head)
        raise
    except OSError as exc:  # the port is taken or cannot be bound
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None


def _load_router(spec: str) -> WebhookRouter:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like uvicorn and gunicorn: import from here
    try:
        return load_router(spec, name="--router")
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _cmd_serve(args: argparse.Namespace) -> int:
    from .devserver import running_server
    from .wsgi import WSGIWebhookMiddleware

    router = _load_router(args.router)

    def not_found(environ: Any, start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    app = WSGIWebhookMiddleware(
        not_found,
        secret=_secret(args),
        router=router,
        path=args.path,
        algorithm=args.algorithm,
        max_body_size=args.max_body_size,
    )
    _stop_on_sigterm()
    try:
        with running_server(app, args.host, args.port) as server:
            print(
                f"receiving Layer webhooks on http://{args.host}:{server.server_port}{args.path} (Ctrl-C stops)",
                flush=True,
            )
            signal.pause() if hasattr(signal, "pause") else input()
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0


def _describe(reply: Any) -> str:
    if reply.error:
        return f"no answer after {reply.elapsed * 1000:.0f} ms ({reply.error})"
    return f"HTTP {reply.status} in {reply.elapsed * 1000:.1f} ms"


def _cmd_send(args: argparse.Namespace) -> int:
    from .sender import challenge, check_url, deliver
    from .testing import build_delivery, signed_headers

    secret = _secret(args)
    url = args.url
    try:
        check_url(url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    ok = True
    if args.challenge:
        reply, value = challenge(url, timeout=args.timeout)
        echoed = reply.status == 200 and reply.body == value.encode()
        verdict = (
            "echoed correctly: Layer would verify this webhook"
            if echoed and reply.in_time
            else ("Layer would leave this webhook inactive (it needs 200 with exactly the challenge value, within 1 s)")
        )
        print(f"challenge: {_describe(reply)}; {verdict}")
        ok = ok and echoed and reply.in_time
    if args.file is not None:
        body = _read_input(args.file)
        event_type = _event_type_of(body)
        headers = signed_headers(body, secret, event_type, algorithm=args.algorithm)
    else:
        delivery = build_delivery(args.event, secret=secret, algorithm=args.algorithm)
        body, headers, event_type = delivery.body, delivery.headers, delivery.event_type
    reply = deliver(url, body, headers, timeout=args.timeout)
    if reply.success:
        verdict = "Layer would count this a success"
    elif reply.error is None and reply.status is not None and 200 <= reply.status < 300:
        verdict = "too slow: Layer waits 1 s, would count this a failure and retry"
    else:
        verdict = "Layer would count this a failure and retry (it needs a 2xx within 1 s)"
    print(f"delivery {event_type} ({len(body)} bytes): {_describe(reply)}; {verdict}")
    if event_type not in DOCUMENTED_TYPES:
        print(
            f"note: {event_type} is not one of Layer's documented event types; a receiver answers 204 "
            "to types it has no handler for, so check the spelling"
        )
    return 0 if ok and reply.success else 1


def _event_type_of(body: bytes) -> str:
    try:
        doc = json.loads(body.removeprefix(b"\xef\xbb\xbf"))
        envelope = doc.get("event") if isinstance(doc, dict) else None
        found = envelope.get("type") if isinstance(envelope, dict) else doc.get("event_type")
    except (ValueError, AttributeError):
        found = None
    if not isinstance(found, str) or not found:
        raise UsageError("the payload file has no event type (event.type or event_type); is it a Layer event?")
    return found


def _cmd_sign(args: argparse.Namespace) -> int:
    verifier = SignatureVerifier(_secret(args), algorithm=args.algorithm)
    print(verifier.sign(_read_input(args.file)))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from .diagnose import diagnose, signature_notes

    secret = _secret(args)
    body = _read_input(args.file)
    verifier = SignatureVerifier(secret, algorithm=args.algorithm)
    if verifier.verify(body, args.signature):
        print(f"signature matches ({len(body)} bytes, HMAC-{args.algorithm.upper()})")
        for note in signature_notes(args.signature):
            print(f"note: {note}")
        return 0
    print(f"signature does NOT match ({len(body)} bytes, HMAC-{args.algorithm.upper()})")
    causes = diagnose(
        body,
        args.signature,
        _key(secret),
        algorithm=args.algorithm,
        other_secrets=[_key(s) for s in args.other_secret],
    )
    for cause in causes:
        print(f"likely cause: {cause}")
    if not causes:
        print("no known cause: the body, the secret or the signature differs from what the sender used")
    return 1


COMMANDS = {
    "demo": _cmd_demo,
    "serve": _cmd_serve,
    "send": _cmd_send,
    "sign": _cmd_sign,
    "verify": _cmd_verify,
}


def _one_line_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _one_line_warning  # one line, not a source excerpt
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except ConfigurationError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away; silence the interpreter's flush at exit too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
