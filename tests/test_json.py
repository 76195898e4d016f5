"""The optional orjson path gives the same results and errors as the stdlib."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layer_webhook_guard import _json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def outcome(data: bytes, fast: bool) -> tuple[str, object]:
    try:
        return ("ok", _json.loads(data, fast=fast))
    except _json.JSONError:
        return ("error", None)


@given(value=json_values, ensure_ascii=st.booleans(), indent=st.sampled_from([None, 1]))
def test_valid_documents_agree(value: object, ensure_ascii: bool, indent: int | None) -> None:
    data = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent).encode("utf-8", "surrogatepass")
    assert outcome(data, True) == outcome(data, False)


@given(data=st.binary(max_size=64))
def test_arbitrary_bytes_agree(data: bytes) -> None:
    fast, slow = outcome(data, True), outcome(data, False)
    assert fast[0] == slow[0]
    if fast[0] == "ok":
        assert repr(fast[1]) == repr(slow[1])


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"n": 123456789012345678901234567890}', id="bigint"),
        pytest.param(b'"\\ud800"', id="lone-surrogate"),
        pytest.param(b'{"a":1,"a":2}', id="duplicate-keys"),
        pytest.param(b"1e400", id="float-overflow"),
        pytest.param(b" \n{}\t", id="whitespace"),
        pytest.param(b"NaN", id="nan"),
        pytest.param(b"[1,]", id="trailing-comma"),
        pytest.param(b"\xff", id="bad-utf8"),
    ],
)
def test_edge_documents_agree(data: bytes) -> None:
    assert repr(outcome(data, True)) == repr(outcome(data, False))


def test_orjson_backend_in_use_when_installed() -> None:
    pytest.importorskip("orjson")
    assert _json.BACKEND == "orjson"


@pytest.mark.parametrize(
    "number",
    ["9223372036854775807", "-9223372036854775808", "-9223372036854775809", "18446744073709551616", "1" * 40],
)
def test_integers_beyond_64_bits_stay_exact(number: str) -> None:
    data = b'{"n": %s}' % number.encode()
    assert _json.loads(data, fast=True) == {"n": int(number)}
    assert type(_json.loads(data, fast=True)["n"]) is int
