from __future__ import annotations

import hashlib
import hmac
import json
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import load_vectors, reference_sign

from layer_webhook_guard import ConfigurationError, SignatureVerifier, sign

VECTORS = load_vectors()
SECRET = "1697f925ec7b1697f925ec7b"
BODY = b'{"event":{"type":"message.sent","id":"1"}}'


def ref(body: bytes = BODY, secret: str | bytes = SECRET) -> str:
    return reference_sign(body, secret)


@pytest.mark.parametrize("vector", VECTORS["rfc"], ids=lambda v: str(v["source"]))
def test_rfc_vectors(vector: dict[str, str]) -> None:
    body = vector["body"].encode()
    verifier = SignatureVerifier(vector["secret"], algorithm=vector["algorithm"])
    assert verifier.verify(body, vector["signature"])
    assert sign(body, vector["secret"], algorithm=vector["algorithm"]) == vector["signature"]
    assert not verifier.verify(body + b" ", vector["signature"])


@pytest.mark.parametrize("vector", VECTORS["files"], ids=lambda v: str(v["file"]))
def test_sample_file_vectors(vector: dict[str, object]) -> None:
    from support import DATA

    body = (DATA / str(vector["file"]).removeprefix("samples/")).read_bytes()
    verifier = SignatureVerifier(str(vector["secret"]))
    assert verifier.verify(body, str(vector["signature"]))
    assert verifier.sign(body) == vector["signature"]


def test_rotation_any_configured_secret_verifies() -> None:
    verifier = SignatureVerifier(["new-secret", "old-secret"])
    assert verifier.verify(BODY, ref(secret="old-secret"))
    assert verifier.verify(BODY, ref(secret="new-secret"))
    assert not verifier.verify(BODY, ref(secret="other-secret"))
    assert verifier.sign(BODY) == ref(secret="new-secret")


def test_streaming_mac_matches_every_secret() -> None:
    verifier = SignatureVerifier(["a-secret", "b-secret"])
    for secret in ("a-secret", "b-secret"):
        mac = verifier.streaming()
        mac.update(BODY[:5])
        mac.update(BODY[5:])
        assert mac.matches(bytes.fromhex(ref(secret=secret)))
    mac = verifier.streaming()
    mac.update(BODY)
    assert not mac.matches(bytes.fromhex(ref(secret="c-secret")))


def test_str_and_bytes_secrets_are_the_same_key() -> None:
    assert SignatureVerifier("sécret").verify(BODY, ref(secret="sécret".encode()))
    assert SignatureVerifier("sécret".encode()).verify(BODY, ref(secret="sécret"))
    assert sign(BODY, "sécret") == sign(BODY, "sécret".encode()) == ref(secret="sécret")


def test_binary_key() -> None:
    key = bytes(range(256))
    assert SignatureVerifier(key).verify(BODY, ref(secret=key))
    assert sign(BODY, key) == ref(secret=key)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("", id="empty-str"),
        pytest.param(b"", id="empty-bytes"),
        pytest.param("  \t", id="whitespace-only"),
        pytest.param(b" \n", id="whitespace-only-bytes"),
        pytest.param(None, id="none"),
        pytest.param([], id="empty-list"),
        pytest.param(["ok-secret", ""], id="empty-element"),
        pytest.param(["ok-secret", None], id="none-element"),
        pytest.param(42, id="int"),
    ],
)
def test_bad_secrets_are_configuration_errors(secret: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        SignatureVerifier(secret)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("algorithm", ["md5", "sha-1", "", "crc32", None])
def test_unknown_algorithm_is_a_configuration_error(algorithm: object) -> None:
    with pytest.raises(ConfigurationError):
        SignatureVerifier(SECRET, algorithm=algorithm)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        sign(BODY, SECRET, algorithm=algorithm)  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", [" padded", "padded\n", b"\tpadded"], ids=["leading", "trailing", "bytes"])
def test_whitespace_secret_is_used_as_given_and_warns(secret: str | bytes) -> None:
    with pytest.warns(UserWarning, match="whitespace") as record:
        verifier = SignatureVerifier(secret)
    assert "padded" not in str(record[0].message)
    assert verifier.verify(BODY, ref(secret=secret))
    assert not verifier.verify(BODY, ref(secret="padded"))


def test_clean_secret_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SignatureVerifier(SECRET)


def test_secret_never_shown() -> None:
    verifier = SignatureVerifier([SECRET, "second-secret"])
    for text in (repr(verifier), str(verifier)):
        assert SECRET not in text and "second-secret" not in text
    with pytest.raises(ConfigurationError) as info:
        SignatureVerifier(SECRET, algorithm="nope")
    assert SECRET not in str(info.value)


GOOD = ref()

MALFORMED = [
    pytest.param(None, id="none"),
    pytest.param("", id="empty"),
    pytest.param(b"", id="empty-bytes"),
    pytest.param("   ", id="whitespace"),
    pytest.param("zz" * 20, id="non-hex"),
    pytest.param(GOOD[:-1], id="odd-length"),
    pytest.param(GOOD[:-2], id="short"),
    pytest.param(GOOD + "00", id="long"),
    pytest.param(reference_sign(BODY, SECRET, "sha256"), id="sha256-length"),
    pytest.param(GOOD[:-1] + "é", id="non-ascii-str"),
    pytest.param((GOOD[:-1] + "é").encode("utf-8").decode("latin-1"), id="non-ascii-latin1-str"),
    pytest.param((GOOD[:-1] + "é").encode("latin-1"), id="non-ascii-bytes"),
    pytest.param("".join(chr(0xFF10 + int(c, 16)) if c.isdigit() else c for c in GOOD), id="fullwidth-digits"),
    pytest.param("".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in GOOD), id="arabic-indic-digits"),
    pytest.param(f"{GOOD},{GOOD}", id="merged-comma"),
    pytest.param(f"{GOOD}, {GOOD}", id="merged-comma-space"),
    pytest.param(f"{GOOD[:20]} {GOOD[20:]}", id="inner-space"),
    pytest.param(f"sha1= {GOOD}", id="space-after-prefix"),
    pytest.param(f"sha256={GOOD}", id="other-algorithm-prefix"),
    pytest.param(f"sha1={GOOD}sha1=", id="trailing-junk"),
    pytest.param(f"\n{GOOD}", id="newline-around"),
    pytest.param(f"\u00a0{GOOD}", id="nbsp-around"),
    pytest.param(f"0x{GOOD[2:]}", id="0x-prefix"),
    pytest.param(f"sha1=sha1={GOOD}", id="double-prefix"),
    pytest.param(12345, id="int"),
    pytest.param([GOOD], id="list"),
    pytest.param({"sig": GOOD}, id="dict"),
    pytest.param(GOOD.encode("utf-16"), id="utf16-bytes"),
]


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_signatures_are_false_never_raise(value: object) -> None:
    assert SignatureVerifier(SECRET).verify(BODY, value) is False  # type: ignore[arg-type]


ACCEPTED = [
    pytest.param(GOOD, id="lowercase"),
    pytest.param(GOOD.upper(), id="uppercase"),
    pytest.param(f"  {GOOD}\t", id="outer-space-tab"),
    pytest.param(f"sha1={GOOD}", id="sha1-prefix"),
    pytest.param(f"SHA1={GOOD.upper()}", id="uppercase-prefix"),
    pytest.param(f" Sha1={GOOD} ", id="prefix-and-spaces"),
    pytest.param(GOOD.encode(), id="bytes"),
    pytest.param(bytearray(GOOD.encode()), id="bytearray"),
    pytest.param(memoryview(GOOD.encode()), id="memoryview"),
]


@pytest.mark.parametrize("value", ACCEPTED)
def test_accepted_signature_forms(value: object) -> None:
    assert SignatureVerifier(SECRET).verify(BODY, value) is True  # type: ignore[arg-type]


def test_prefix_names_configured_algorithm() -> None:
    good256 = reference_sign(BODY, SECRET, "sha256")
    verifier = SignatureVerifier(SECRET, algorithm="sha256")
    assert verifier.verify(BODY, f"sha256={good256}")
    assert not verifier.verify(BODY, f"sha1={good256}")


@pytest.mark.parametrize("body", [{"a": 1}, "text", None, 12], ids=["dict", "str", "none", "int"])
def test_non_bytes_body_is_a_type_error(body: object) -> None:
    verifier = SignatureVerifier(SECRET)
    with pytest.raises(TypeError):
        verifier.verify(body, GOOD)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verifier.sign(body)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sign(body, SECRET)  # type: ignore[arg-type]


def test_bytes_like_bodies_verify() -> None:
    verifier = SignatureVerifier(SECRET)
    assert verifier.verify(bytearray(BODY), GOOD)
    assert verifier.verify(memoryview(BODY), GOOD)


def test_comparison_is_constant_time_on_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert SignatureVerifier(SECRET).verify(BODY, GOOD.upper())
    assert calls and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


# -- the MAC covers the exact bytes -----------------------------------------

DOC = {"event": {"type": "message.sent", "id": "1", "url": "https://x/y"}, "text": "héllo", "n": 1.0}
ORIGINAL = json.dumps(DOC, separators=(",", ":"), ensure_ascii=False).encode()
VARIANTS = [
    pytest.param(json.dumps(DOC, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode(), id="key-order"),
    pytest.param(json.dumps(DOC, ensure_ascii=False).encode(), id="spacing"),
    pytest.param(json.dumps(DOC, separators=(",", ":")).encode(), id="ensure-ascii"),
    pytest.param(ORIGINAL.replace(b"1.0", b"1"), id="number-format"),
    pytest.param(ORIGINAL.replace(b"https://x/y", b"https:\\/\\/x\\/y"), id="escaped-slash"),
    pytest.param(ORIGINAL + b"\n", id="trailing-newline"),
    pytest.param(b"\xef\xbb\xbf" + ORIGINAL, id="utf8-bom"),
    pytest.param(ORIGINAL.replace(b",", b",\r\n"), id="crlf"),
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_mac_is_over_exact_bytes(variant: bytes) -> None:
    assert variant != ORIGINAL
    assert json.loads(variant.removeprefix(b"\xef\xbb\xbf")) == json.loads(ORIGINAL)  # same document
    verifier = SignatureVerifier(SECRET)
    assert verifier.verify(ORIGINAL, ref(ORIGINAL))
    assert not verifier.verify(variant, ref(ORIGINAL))
    assert verifier.verify(variant, ref(variant))
    assert not verifier.verify(ORIGINAL, ref(variant))


# -- properties -----------------------------------------------------------------

secrets_st = st.one_of(
    st.binary(min_size=1, max_size=80).filter(lambda b: b.strip() == b and b.strip()),
    st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s.strip()),
)


@given(body=st.binary(max_size=2048), secret=secrets_st, data=st.data())
def test_property_independent_signature_verifies_and_any_flip_fails(
    body: bytes, secret: str | bytes, data: st.DataObject
) -> None:
    key = secret.encode() if isinstance(secret, str) else secret
    expected = hmac.new(key, body, hashlib.sha1).hexdigest()
    verifier = SignatureVerifier(secret)
    assert verifier.verify(body, expected)
    if body:
        i = data.draw(st.integers(0, len(body) - 1), label="body index")
        bit = data.draw(st.integers(0, 7), label="bit")
        flipped = bytearray(body)
        flipped[i] ^= 1 << bit
        assert not verifier.verify(bytes(flipped), expected)
    j = data.draw(st.integers(0, len(expected) - 1), label="signature index")
    repl = data.draw(st.sampled_from("0123456789abcdef").filter(lambda c: c != expected[j]), label="hex digit")
    assert not verifier.verify(body, expected[:j] + repl + expected[j + 1 :])


@given(value=st.one_of(st.text(max_size=100), st.binary(max_size=100), st.none(), st.integers()))
def test_property_verify_never_raises(value: object) -> None:
    assert SignatureVerifier(SECRET).verify(BODY, value) in (True, False)  # type: ignore[arg-type]


def test_secret_from_non_utf8_environment_bytes() -> None:
    import os

    raw = b"abc\xe9secret"
    from_env = os.fsdecode(raw)  # what os.environ / argv give for these bytes
    assert SignatureVerifier(from_env).verify(BODY, ref(secret=raw))


def test_unencodable_secret_is_a_configuration_error_that_hides_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        SignatureVerifier("abc\ud800xyz")
    assert "abc" not in str(info.value) and "ud800" not in str(info.value) and "position" not in str(info.value)


def test_verifier_refuses_to_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(SignatureVerifier(SECRET))
