"""JSON decoding of verified bodies, with ``orjson`` as an optional fast path.

Both paths give identical results and identical errors: ``orjson`` is tried
first and, whenever it refuses a document, the standard library decides (so
documents only the standard library accepts, such as integers beyond 64 bits,
still parse the same way everywhere). ``NaN`` and ``Infinity`` are not JSON
and are refused on both paths. Only ever called on verified bytes.
"""

from __future__ import annotations

import contextlib
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
    if fast and _orjson_loads is not None:
        with contextlib.suppress(Exception):  # orjson refused: the stdlib decides
            return _orjson_loads(data)
    return _stdlib_loads(data)
