"""Why does a signature not match? Checks for the usual causes.

Used by ``layer-webhook-guard verify``. Every check recomputes the MAC of a
plausible variant of the body, the signature or the secret and reports the
variants that match. It never prints a secret or a signature; it names the
cause. This is a diagnostic tool for a developer's own data, so its cost
(a few dozen HMACs) does not matter.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hmac
import json
from collections.abc import Callable, Iterator, Sequence

from .signing import SUPPORTED_ALGORITHMS, parse_signature

__all__ = ["diagnose", "signature_notes"]

_BOM = codecs.BOM_UTF8


def _mac(body: bytes, key: bytes, algorithm: str) -> bytes:
    return hmac.digest(key, body, algorithm)


def _claimed_digests(signature: str) -> Iterator[tuple[str, bytes]]:
    """Digest bytes the value could stand for once its form is repaired."""
    text = signature.strip()
    forms: list[tuple[str, str]] = []
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        forms.append(("the signature is wrapped in quotes", text[1:-1]))
    if "=" in text[:12] and not text.endswith("="):
        forms.append(("the signature carries a prefix (Layer sends bare hex)", text.split("=", 1)[1]))
    if text.lower().startswith("0x"):
        forms.append(("the signature carries a 0x prefix", text[2:]))
    for why, form in forms:
        try:
            yield why, bytes.fromhex(form.strip())
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    else:
        if len(raw) in (20, 28, 32, 48, 64):
            yield "the signature is base64, Layer sends hex", raw


def _body_variants(body: bytes) -> Iterator[tuple[str, bytes]]:
    if body.endswith(b"\n"):
        yield "a trailing newline was added to the body (the sender signed it without)", body.rstrip(b"\r\n")
    else:
        yield "the body lost its trailing newline (the sender signed it with one)", body + b"\n"
        yield "the body lost its trailing CRLF (the sender signed it with one)", body + b"\r\n"
    if body.startswith(_BOM):
        yield "a UTF-8 BOM was added in front of the body", body[3:]
    else:
        yield "the body lost the UTF-8 BOM the sender signed", _BOM + body
    if b"\r\n" in body:
        yield "the body has CRLF line endings where the sender signed LF", body.replace(b"\r\n", b"\n")
    if b"\n" in body:
        yield (
            "the body has LF line endings where the sender signed CRLF",
            body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
        )
    yield from _reserialised(body)


def _unique(variants: Iterator[tuple[str, bytes]], body: bytes) -> Iterator[tuple[str, bytes]]:
    """Each candidate body once, under the first (most specific) cause."""
    tried = {body}
    for why, candidate in variants:
        if candidate not in tried:
            tried.add(candidate)
            yield why, candidate


def _reserialised(body: bytes) -> Iterator[tuple[str, bytes]]:
    try:
        doc = json.loads(body.removeprefix(_BOM))
    except ValueError:
        return
    why = "the body was re-serialised: the sender signed different bytes for the same JSON ({})"
    options: list[tuple[str, dict[str, object]]] = [
        ("compact", {"separators": (",", ":")}),
        ("compact, ASCII-escaped", {"separators": (",", ":"), "ensure_ascii": True}),
        ("default spacing", {}),
        ("sorted keys", {"sort_keys": True}),
        ("compact, sorted keys", {"separators": (",", ":"), "sort_keys": True}),
        ("indented by 2", {"indent": 2}),
        ("indented by 4", {"indent": 4}),
        ("tab-indented", {"indent": "\t"}),
    ]
    for name, kwargs in options:
        kwargs.setdefault("ensure_ascii", False)
        text = json.dumps(doc, **kwargs)  # type: ignore[arg-type]
        for suffix in ("", "\n"):
            candidate = (text + suffix).encode("utf-8")
            yield why.format(name), candidate
            yield why.format(f"{name}, slashes escaped"), candidate.replace(b"/", b"\\/")


def _secret_variants(secret: bytes) -> Iterator[tuple[str, bytes]]:
    if secret != secret.strip():
        yield "your secret has whitespace around it; the sender's has none", secret.strip()
    else:
        yield "the sender's secret ends with a newline (read from a file?)", secret + b"\n"
        yield "the sender's secret has whitespace around it", b" " + secret + b" "


def diagnose(
    body: bytes,
    signature: str,
    secret: bytes,
    *,
    algorithm: str = "sha1",
    other_secrets: Sequence[bytes] = (),
) -> list[str]:
    """Causes that explain why ``signature`` does not match ``body``.

    Empty when no known cause explains it.
    """
    found: list[str] = []
    digest_size = len(_mac(b"", secret, algorithm))
    claimed = parse_signature(signature, algorithm, digest_size)

    def add(why: str) -> None:
        if why not in found:
            found.append(why)

    def check(claim: bytes | None, variants: Iterator[tuple[str, bytes]], mac: Callable[[bytes], bytes]) -> None:
        if claim is None:
            return
        for why, candidate in variants:
            if hmac.compare_digest(mac(candidate), claim):
                add(why)

    if claimed is not None:
        check(claimed, _unique(_body_variants(body), body), lambda b: _mac(b, secret, algorithm))
        check(claimed, _secret_variants(secret), lambda k: _mac(body, k, algorithm))
        for i, other in enumerate(other_secrets, 1):
            if hmac.compare_digest(_mac(body, other, algorithm), claimed):
                add(f"the body was signed with another configured secret (--other-secret #{i})")
    for why, raw in _claimed_digests(signature):
        if len(raw) == digest_size and hmac.compare_digest(_mac(body, secret, algorithm), raw):
            add(why)
    for other_alg in sorted(SUPPORTED_ALGORITHMS - {algorithm}):
        other_size = len(_mac(b"", secret, other_alg))
        claim = parse_signature(signature, other_alg, other_size)
        if claim is not None and hmac.compare_digest(_mac(body, secret, other_alg), claim):
            add(f"the signature is HMAC-{other_alg.upper()}, not HMAC-{algorithm.upper()}")
    return found


def signature_notes(signature: str) -> list[str]:
    """Remarks on a signature that verified but is not in Layer's exact form."""
    notes = []
    text = signature.strip(" \t")
    if text != signature:
        notes.append("the value has spaces around it; Layer sends none")
    if "=" in text:
        notes.append("the value has an algorithm prefix; Layer sends bare hex")
    if any(c in "ABCDEF" for c in text):
        notes.append(
            "the value is uppercase; Layer sends lowercase hex, so a plain string comparison "
            "with hexdigest() would fail where hmac.compare_digest on bytes succeeds"
        )
    return notes
