"""The core imports and works with every web framework made unimportable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from support import ROOT

BLOCKED = ("flask", "django", "starlette", "werkzeug", "fastapi", "orjson")

SCRIPT = textwrap.dedent(
    """
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked: {name}")
            return None

    BLOCKED = set(sys.argv[1:])
    sys.meta_path.insert(0, Block())
    import layer_webhook_guard as g
    from layer_webhook_guard import receiver, routing, events, signing, errors

    for name in BLOCKED:
        try:
            __import__(name)
        except ImportError:
            pass
        else:
            raise SystemExit(f"{name} was importable")

    router = g.WebhookRouter()
    seen = []
    router.on("message.sent")(seen.append)
    body = b'{"event":{"type":"message.sent","id":"1"}}'
    rec = g.WebhookReceiver("s3cret", router)
    d = rec.handle("POST", "", {"layer-webhook-signature": g.sign(body, "s3cret")}, body)
    assert d.status == 204 and len(seen) == 1, d
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not loaded, loaded
    print("isolated-ok", g.__name__)
    """
)


def test_core_imports_without_frameworks() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *BLOCKED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "isolated-ok layer_webhook_guard" in result.stdout
