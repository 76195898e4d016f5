"""Tests of layer_webhook_guard.django (settings are configured by conftest.py)."""
