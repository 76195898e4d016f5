"""Settings for the example project.

Only what the example needs: no database, no sessions. Verified deliveries
are recorded in Django's cache (a directory of files, shared by every worker
process), where ``GET /deliveries/<event id>`` can show them.

Configuration comes from the environment:

* ``LAYER_WEBHOOK_SECRET``: the webhook's secret. Required unless
  ``DJANGO_DEBUG`` is on, when Layer's documented example secret is used so
  the project runs as written.
* ``DJANGO_DEBUG``: ``1`` (default) or ``0``.
* ``DJANGO_SECRET_KEY``: Django's own key (an insecure one by default).
* ``EXAMPLE_CACHE_DIR``: where deliveries are recorded.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-example-project-only")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    # System checks: `manage.py check` reports a missing secret as
    # layer_webhook_guard.E001.
    "layer_webhook_guard.django",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Above anything that reads the request body.
    "layer_webhook_guard.django.LayerWebhookMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "webhook_project.urls"
WSGI_APPLICATION = "webhook_project.wsgi.application"

# Layer's documented example secret: only ever a development fallback.
_DOCS_EXAMPLE_SECRET = "1697f925ec7b1697f925ec7b"
LAYER_WEBHOOK_SECRET = os.environ.get("LAYER_WEBHOOK_SECRET") or (_DOCS_EXAMPLE_SECRET if DEBUG else "")
LAYER_WEBHOOK_ROUTER = "webhook_project.handlers.router"
LAYER_WEBHOOK_PATH = "/layer/webhooks"

DATABASES: dict[str, dict[str, str]] = {}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("EXAMPLE_CACHE_DIR") or str(Path(tempfile.gettempdir()) / "layer-webhook-example"),
    }
}

USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        # Rejections (reason and body length only) and handler failures.
        "layer_webhook_guard": {"handlers": ["console"], "level": "INFO"},
        "webhook_project": {"handlers": ["console"], "level": "INFO"},
    },
}
