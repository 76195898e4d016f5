"""A small threaded HTTP server for the demo and ``serve``: stdlib only.

It runs any WSGI app (here, the webhook middleware) with ``wsgiref`` in a
background thread, so the command owns the server and stops it whatever
happens: when the ``with`` block ends, on an exception, or with the process.
For production, run the middleware under gunicorn, uvicorn or your
framework's server instead.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["ThreadingWSGIServer", "running_server"]


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    # A client that stalls mid-request (declares 100 bytes, sends 2) must not
    # pin a thread for ever: reads and writes give up after ``timeout`` seconds.
    timeout = 10.0

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def running_server(
    app: WSGIApplication, host: str = "127.0.0.1", port: int = 0, *, request_timeout: float = 10.0
) -> Iterator[WSGIServer]:
    """Serve ``app`` on host:port (0 = a free port) until the block ends.

    A connection that stalls for ``request_timeout`` seconds is dropped.
    """
    handler = type("_Handler", (_QuietHandler,), {"timeout": request_timeout})
    server = make_server(host, port, app, server_class=ThreadingWSGIServer, handler_class=handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
