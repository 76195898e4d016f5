"""The apps figure 5 serves: one process, a bare endpoint and a guarded one side by side.

``BARE_PATH`` is answered by the hand-written endpoint; ``PATH`` by the
guard's router-mode middleware wrapped around that same app. Both paths live
in the same server process, so the load generator can alternate between
them and the server's own cost (HTTP parsing, the worker model) is the same
for both. Run by gunicorn (``_served:wsgi_app``) and uvicorn
(``_served:asgi_app``) with ``benchmarks/`` as the working directory.
"""

from __future__ import annotations

import logging

from _apps import asgi_handwritten, router_async, router_sync, wsgi_handwritten
from _bodies import SECRET

from layer_webhook_guard.asgi import ASGIWebhookMiddleware
from layer_webhook_guard.wsgi import WSGIWebhookMiddleware

logging.getLogger("layer_webhook_guard").setLevel(logging.ERROR)

wsgi_app = WSGIWebhookMiddleware(wsgi_handwritten, secret=SECRET, router=router_sync())
asgi_app = ASGIWebhookMiddleware(asgi_handwritten, secret=SECRET, router=router_async())
