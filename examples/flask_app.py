"""A small Flask app that receives Layer webhooks with two handlers.

Run it as written, from the repository root, with the webhook's shared
secret (the one Layer shows for the webhook) in the environment::

    export LAYER_WEBHOOK_SECRET='the webhook secret'
    flask --app examples/flask_app run          # http://127.0.0.1:5000/layer/webhooks
    python examples/flask_app.py --port 5000    # the same, without the flask command

or under a production server: ``gunicorn 'examples.flask_app:create_app()'``.

The secret comes only from the environment variable ``LAYER_WEBHOOK_SECRET``,
never from the code: :func:`create_app` copies it into
``app.config["LAYER_WEBHOOK_SECRET"]``, and the extension refuses to start
without it (``ConfigurationError`` naming the variable) rather than serve a
guard that could verify nothing. ``python examples/flask_app.py`` turns that
into a one-line message and exit status 1; ``flask run`` and gunicorn show it
as the last line of their start-up error. An app factory (rather than an app
built at import) keeps the module importable without the secret, so tests
build their own apps with :func:`create_app`.

Every handled event is logged at INFO on the app's logger (stderr), with its
type, id and Layer's request id: that log is how you, and the tests, see what
arrived. Point Layer's webhook at ``https://<your host>/layer/webhooks``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from flask import Flask, current_app

from layer_webhook_guard import ConfigurationError, PermanentError, WebhookEvent
from layer_webhook_guard.flask import LayerWebhooks

SECRET_VARIABLE = "LAYER_WEBHOOK_SECRET"

webhooks = LayerWebhooks()


@webhooks.on("message.sent")
def message_sent(event: WebhookEvent) -> None:
    message = event.payload.get("message")
    if not isinstance(message, dict):
        # Retrying cannot fix this delivery: acknowledge it (2xx) and log it.
        raise PermanentError("a message.sent event without a message")
    current_app.logger.info(
        "handled %s event %s (request %s): message %s", event.type, event.id, event.request_id, message.get("id")
    )


@webhooks.on("conversation.created", "conversation.deleted", "conversation.updated.*")
def conversation_changed(event: WebhookEvent) -> None:
    current_app.logger.info("handled %s event %s (request %s)", event.type, event.id, event.request_id)


@webhooks.on_error
def report_failure(event: WebhookEvent, error: BaseException) -> None:
    current_app.logger.warning("event %s (%s) failed: %s", event.id, event.type, type(error).__name__)


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """The app factory that ``flask`` and gunicorn call; ``config`` overrides the environment."""
    app = Flask(__name__)
    app.logger.setLevel(logging.INFO)
    app.config[SECRET_VARIABLE] = os.environ.get(SECRET_VARIABLE)
    app.config.update(config or {})
    webhooks.init_app(app)  # ConfigurationError naming LAYER_WEBHOOK_SECRET when it is unset

    @app.get("/")
    def index() -> str:
        return "Layer webhooks are received at /layer/webhooks\n"

    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the example on Flask's development server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    try:
        app = create_app()
    except ConfigurationError as exc:
        sys.exit(f"error: {exc}\n(this example reads it from the environment variable {SECRET_VARIABLE})")
    app.run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
