"""``layer-webhook-guard demo`` as a user runs it: a subprocess on real HTTP."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

import pytest
from support import ROOT, stop_process


def test_demo_passes_and_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "layer_webhook_guard", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"^#\s+request\s+expected\s+got\s+handler ran", out, re.M)
    rows = re.findall(r"^\d+\s+(GET|POST|PUT) .*$", out, re.M)
    assert len(rows) == 23
    assert len(re.findall(r"^\d+\s.*\bok$", out, re.M)) == 23
    assert out.count("(first public format)") == 7 and out.count("(1.0)") == 8
    for status in ("401", "413", "400", "405"):
        assert re.search(rf"^\d+\s+\S.*\s{status}\s+{status}\s+no\s+ok$", out, re.M), status
    assert "Traceback" not in result.stderr


def _port_is_closed(port: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["term", "int", "kill"])
def test_killing_demo_midway_leaves_no_server(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "layer_webhook_guard", "demo", "--delay", "0.5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "demo did not start"
        line = proc.stdout.readline().decode()
        port = int(re.search(r"127\.0\.0\.1:(\d+)/", line).group(1))  # type: ignore[union-attr]
        time.sleep(0.6)  # a few requests in
        assert proc.poll() is None, "demo ended before it was interrupted"
        os.kill(proc.pid, sig)
        proc.wait(timeout=15)
        assert proc.returncode != 0
        assert _port_is_closed(port)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        assert "Traceback" not in stderr
        rest = proc.stdout.read().decode()
        # Rows are printed as each request completes, so some were shown.
        assert re.search(r"^1\s+GET \?verification_challenge", rest, re.M), rest
        if sig == signal.SIGINT:
            assert re.search(r"interrupted after \d+ of 23 requests; server stopped", rest), rest
    finally:
        stop_process(proc)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
