"""System checks: stable ids, registered by the app config, and
``manage.py check`` of the example project."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from support import ROOT

from .harness import GUARD, stack

EXAMPLE = ROOT / "examples" / "django_project"


def our_ids() -> list[str]:
    return sorted(m.id for m in checks.run_checks() if (m.id or "").startswith("layer_webhook_guard."))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({}, [], id="clean"),
        pytest.param({"LAYER_WEBHOOK_SECRET": ""}, ["layer_webhook_guard.E001"], id="E001-empty"),
        pytest.param({"LAYER_WEBHOOK_SECRET": None}, ["layer_webhook_guard.E001"], id="E001-none"),
        pytest.param({"LAYER_WEBHOOK_SECRET": ["a", " "]}, ["layer_webhook_guard.E001"], id="E001-empty-element"),
        pytest.param({"LAYER_WEBHOOK_SECRET": 3}, ["layer_webhook_guard.E001"], id="E001-wrong-type"),
        pytest.param({"LAYER_WEBHOOK_ROUTER": "nowhere.router"}, ["layer_webhook_guard.E002"], id="E002-import"),
        pytest.param({"LAYER_WEBHOOK_ROUTER": "os.sep"}, ["layer_webhook_guard.E002"], id="E002-not-router"),
        pytest.param({"LAYER_WEBHOOK_PATH": "hooks"}, ["layer_webhook_guard.E003"], id="E003"),
        pytest.param({"LAYER_WEBHOOK_MAX_BODY_SIZE": -5}, ["layer_webhook_guard.E004"], id="E004"),
        pytest.param({"LAYER_WEBHOOK_ALGORITHM": "crc32"}, ["layer_webhook_guard.E005"], id="E005"),
        pytest.param(
            {"LAYER_WEBHOOK_MAX_BODY_SIZE": 2_000_000, "DATA_UPLOAD_MAX_MEMORY_SIZE": 1_000_000},
            ["layer_webhook_guard.W001"],
            id="W001",
        ),
        pytest.param(
            {"LAYER_WEBHOOK_MAX_BODY_SIZE": 2_000_000, "DATA_UPLOAD_MAX_MEMORY_SIZE": None}, [], id="no-django-cap"
        ),
        pytest.param(
            {"MIDDLEWARE": stack(guard=True, before=["request_logging.middleware.LoggingMiddleware"])},
            ["layer_webhook_guard.W002"],
            id="W002",
        ),
        pytest.param({"MIDDLEWARE": [GUARD, "silk.middleware.SilkyMiddleware"]}, [], id="reader-after-guard"),
        pytest.param({"LAYER_WEBHOOK_SECRET": "secret\n"}, ["layer_webhook_guard.W003"], id="W003"),
        pytest.param(
            {"LAYER_WEBHOOK_SECRET": "", "LAYER_WEBHOOK_ALGORITHM": "md5"},
            ["layer_webhook_guard.E001", "layer_webhook_guard.E005"],
            id="several",
        ),
    ],
)
def test_check_ids(overrides: dict[str, Any], expected: list[str], site: Callable[..., None]) -> None:
    site(**{"MIDDLEWARE": stack(guard=True), **overrides})
    assert our_ids() == expected


def test_messages_never_show_the_secret(site: Callable[..., None]) -> None:
    site(LAYER_WEBHOOK_SECRET=["kept-private ", ""])
    text = " ".join(f"{m.msg} {m.hint}" for m in checks.run_checks())
    assert "layer_webhook_guard.E001" in [m.id for m in checks.run_checks()]
    assert "kept-private" not in text


def test_manage_check_reports_missing_secret(site: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> None:
    site()
    with override_settings():
        del settings.LAYER_WEBHOOK_SECRET
        with pytest.raises(SystemCheckError, match=r"layer_webhook_guard\.E001"):
            call_command("check")


def _example_check(**env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("LAYER_", "DJANGO_"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=EXAMPLE,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_example_manage_check() -> None:
    missing = _example_check(DJANGO_DEBUG="0")
    assert missing.returncode == 1
    assert "layer_webhook_guard.E001" in missing.stderr
    ok = _example_check(DJANGO_DEBUG="0", LAYER_WEBHOOK_SECRET="from-the-environment")
    assert ok.returncode == 0, ok.stderr
    assert "no issues" in ok.stdout
