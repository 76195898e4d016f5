"""The command line: sign, verify (with diagnosis), bad use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import DATA, SAMPLE_SECRET, load_vectors, reference_sign

from layer_webhook_guard.cli import main

SAMPLE = DATA / "v1.0" / "message.sent.json"  # the documented, pretty-printed form
SAMPLE_SIG = next(str(v["signature"]) for v in load_vectors()["files"] if v["file"] == "samples/v1.0/message.sent.json")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sign_matches_openssl_vector(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sign", "--secret", SAMPLE_SECRET, str(SAMPLE))
    assert code == 0 and out.strip() == SAMPLE_SIG


def test_sign_reads_secret_from_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SECRET", SAMPLE_SECRET)
    code, out, _ = run(capsys, "sign", "--secret-env", "MY_SECRET", str(SAMPLE))
    assert code == 0 and out.strip() == SAMPLE_SIG
    monkeypatch.setenv("LAYER_WEBHOOK_SECRET", SAMPLE_SECRET)
    assert run(capsys, "sign", str(SAMPLE))[1].strip() == SAMPLE_SIG


def test_verify_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "--secret", SAMPLE_SECRET, "--signature", SAMPLE_SIG, str(SAMPLE))
    assert code == 0 and "matches" in out and "note" not in out


def body_file(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "body.json"
    path.write_bytes(data)
    return str(path)


ORIGINAL = SAMPLE.read_bytes()  # documented form: ends without newline? checked below
DOC = json.loads(ORIGINAL)
COMPACT = json.dumps(DOC, separators=(",", ":")).encode()


def causes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, received: bytes, signature: str, *extra: str
) -> tuple[int, str]:
    code, out, _ = run(
        capsys, "verify", "--secret", SAMPLE_SECRET, "--signature", signature, *extra, body_file(tmp_path, received)
    )
    return code, out


@pytest.mark.parametrize(
    ("received", "signed", "expected"),
    [
        pytest.param(ORIGINAL, COMPACT, "re-serialised", id="reserialised"),
        pytest.param(COMPACT + b"\n", COMPACT, "trailing newline was added", id="newline-added"),
        pytest.param(COMPACT, COMPACT + b"\n", "lost its trailing newline", id="newline-removed"),
        pytest.param(b"\xef\xbb\xbf" + COMPACT, COMPACT, "BOM was added", id="bom-added"),
        pytest.param(COMPACT, b"\xef\xbb\xbf" + COMPACT, "lost the UTF-8 BOM", id="bom-removed"),
        pytest.param(
            ORIGINAL.replace(b"\n", b"\r\n"),
            ORIGINAL,
            "the body has CRLF line endings where the sender signed LF",
            id="crlf",
        ),
    ],
)
def test_verify_diagnoses_body_causes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, received: bytes, signed: bytes, expected: str
) -> None:
    code, out = causes(capsys, tmp_path, received, reference_sign(signed, SAMPLE_SECRET))
    assert code == 1 and "does NOT match" in out
    assert expected in out, out


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        pytest.param(f"sha256={reference_sign(COMPACT, SAMPLE_SECRET)}", "prefix", id="other-prefix"),
        pytest.param(f"0x{reference_sign(COMPACT, SAMPLE_SECRET)}", "0x prefix", id="0x-prefix"),
        pytest.param(f'"{reference_sign(COMPACT, SAMPLE_SECRET)}"', "quotes", id="quoted"),
        pytest.param(reference_sign(COMPACT, SAMPLE_SECRET, "sha256"), "HMAC-SHA256, not HMAC-SHA1", id="algorithm"),
    ],
)
def test_verify_diagnoses_signature_form(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, signature: str, expected: str
) -> None:
    code, out = causes(capsys, tmp_path, COMPACT, signature)
    assert code == 1 and expected in out, out


def test_verify_uppercase_is_accepted_with_a_note(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = causes(capsys, tmp_path, COMPACT, reference_sign(COMPACT, SAMPLE_SECRET).upper())
    assert code == 0 and "uppercase" in out


def test_verify_diagnoses_other_configured_secret(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    sig = reference_sign(COMPACT, "staging-secret")
    code, out = causes(capsys, tmp_path, COMPACT, sig, "--other-secret", "prod-2", "--other-secret", "staging-secret")
    assert code == 1 and "another configured secret (--other-secret #2)" in out
    assert "staging-secret" not in out


def test_verify_diagnoses_whitespace_around_secret(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    sig = reference_sign(COMPACT, SAMPLE_SECRET)
    code, out, err = run(
        capsys, "verify", "--secret", f" {SAMPLE_SECRET}\n", "--signature", sig, body_file(tmp_path, COMPACT)
    )
    assert code == 1 and "your secret has whitespace around it" in out
    # The library's warning, as one line on stderr (no source excerpt, no secret).
    assert (
        err
        == "layer-webhook-guard: warning: the webhook secret has leading or trailing whitespace; it is used as given\n"
    )
    code, out = causes(capsys, tmp_path, COMPACT, reference_sign(COMPACT, SAMPLE_SECRET + "\n"))
    assert code == 1 and "ends with a newline" in out


def test_verify_no_known_cause(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = causes(capsys, tmp_path, COMPACT, reference_sign(b"something else entirely", SAMPLE_SECRET))
    assert code == 1 and "no known cause" in out and "likely cause" not in out


def test_verify_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ORIGINAL)))
    code, _, _ = run(capsys, "verify", "--secret", SAMPLE_SECRET, "--signature", SAMPLE_SIG, "-")
    assert code == 0


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="no-command"),
        pytest.param(["frobnicate"], id="unknown-command"),
        pytest.param(["sign", "/nonexistent/file"], id="missing-secret"),
        pytest.param(["sign", "--secret", "s3cret-value", "/nonexistent/file"], id="missing-file"),
        pytest.param(["sign", "--secret", "   ", "-"], id="blank-secret"),
        pytest.param(["verify", "--secret", "s3cret-value", "-"], id="missing-signature"),
        pytest.param(["send", "ftp://127.0.0.1/x", "--secret", "s3cret-value", "--event", "a"], id="bad-url"),
        pytest.param(["send", "http://127.0.0.1:9/x", "--secret", "s3cret-value"], id="send-needs-event-or-file"),
        pytest.param(["serve", "--secret", "s3cret-value", "--router", "nomodule"], id="bad-router-spec"),
        pytest.param(["serve", "--secret", "s3cret-value", "--router", "no_such_module_x:router"], id="router-import"),
        pytest.param(["serve", "--secret", "s3cret-value", "--router", "json:loads"], id="router-wrong-type"),
        pytest.param(["demo", "--port", "notanumber"], id="bad-port"),
        pytest.param(["demo", "--port", "99999"], id="port-out-of-range"),
        pytest.param(["demo", "--delay", "-1"], id="negative-delay"),
        pytest.param(["serve", "--secret", "s3cret-value", "--router", ".rel:router"], id="relative-router"),
        pytest.param(["send", "http://", "--secret", "s3cret-value", "--event", "a"], id="url-no-host"),
        pytest.param(["send", "http://127.0.0.1:99999/x", "--secret", "s3cret-value", "--event", "a"], id="url-port"),
        pytest.param(["send", "http://[::1/x", "--secret", "s3cret-value", "--event", "a"], id="url-broken"),
        pytest.param(
            ["send", "http://127.0.0.1:9/", "--secret", "s3cret-value", "--event", "a", "--timeout", "-1"],
            id="negative-timeout",
        ),
        pytest.param(
            ["send", "http://127.0.0.1:9/", "--secret", "s3cret-value", "--event", "message€.sent"],
            id="non-ascii-event",
        ),
    ],
)
def test_bad_use_is_one_line_exit_2(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAYER_WEBHOOK_SECRET", raising=False)
    result = subprocess.run(
        [sys.executable, "-m", "layer_webhook_guard", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layer-webhook-guard: error:"), result.stderr
    assert "Traceback" not in result.stderr and "s3cret-value" not in result.stderr + result.stdout


def test_demo_on_a_taken_port_is_one_line_exit_2() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "layer_webhook_guard", "demo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "cannot listen" in result.stderr


def test_non_utf8_secret_from_environment(tmp_path: Path) -> None:
    import os

    body = tmp_path / "b.json"
    body.write_bytes(COMPACT)
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "layer_webhook_guard", "sign", str(body)],
        capture_output=True,
        timeout=60,
        check=False,
        env={**env, "LAYER_WEBHOOK_SECRET": os.fsdecode(b"abc\xe9")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == reference_sign(COMPACT, b"abc\xe9")


@pytest.mark.parametrize(
    ("received", "signed"),
    [pytest.param(COMPACT + b"\n", COMPACT, id="newline"), pytest.param(b"\xef\xbb\xbf" + COMPACT, COMPACT, id="bom")],
)
def test_verify_names_one_cause_not_a_second_reading_of_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, received: bytes, signed: bytes
) -> None:
    code, out = causes(capsys, tmp_path, received, reference_sign(signed, SAMPLE_SECRET))
    assert code == 1 and out.count("likely cause:") == 1 and "re-serialised" not in out
