"""An example Django project receiving Layer webhooks with layer_webhook_guard."""
