"""JSON decoding of verified bodies, with ``orjson`` as an optional fast path.

Both paths give identical results and identical errors: ``orjson`` is tried
first and, whenever it refuses a document, the standard library decides.
orjson turns integers beyond 64 bits into floats where the standard library
keeps them exact, so a body holding a run of 19 or more digits (the only way
to write such an integer) goes straight to the standard library; the check is
one C-speed ``translate`` and substring search. ``NaN`` and ``Infinity`` are not JSON
and are refused on both paths. Only ever called on verified bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "JSONError", "loads"]


class JSONError(ValueError):
    """The bytes are not UTF-8 JSON."""


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(parse_constant=_no_constants)


def _stdlib_loads(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JSONError("the body is not valid UTF-8") from None
    try:
        return _decoder.decode(text)
    except (ValueError, RecursionError) as exc:
        raise JSONError(f"the body is not JSON ({type(exc).__name__})") from None


# Every ASCII digit to "0", every other byte to a space: a run of 19 zeros in
# the translation is a run of 19 digits in the body.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_DIGIT_RUN = b"0" * 19
#: Above this size the stdlib parses: orjson's working memory grows to about
#: 13x the document and its time turns superlinear, while the stdlib stays
#: linear (measured in benchmarks/, figure 6).
_ORJSON_MAX = 1_048_576

_orjson_loads: Callable[[bytes], Any] | None
try:
    import orjson

    _orjson_loads = orjson.loads
    BACKEND = "orjson"
except ImportError:  # pragma: no cover - depends on the environment
    _orjson_loads = None
    BACKEND = "json"


def loads(data: bytes, *, fast: bool = True) -> Any:
    """Decode a JSON document from UTF-8 bytes (no BOM); raise JSONError."""
    if (
        fast
        and _orjson_loads is not None
        and len(data) <= _ORJSON_MAX
        and _LONG_DIGIT_RUN not in data.translate(_DIGITS_ONLY)
    ):
        try:
            return _orjson_loads(data)
        except Exception:  # noqa: S110 - orjson refused: the stdlib decides, and raises if it must
            pass
    return _stdlib_loads(data)
