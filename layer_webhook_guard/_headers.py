"""A small case-insensitive, read-only, multi-valued header mapping.

Adapters hand the receiver headers in whatever shape their server uses (ASGI
byte pairs, WSGI ``HTTP_*`` keys, a framework mapping). This class turns them
into one shape. Byte values are decoded as latin-1, as HTTP/1.1 and every
Python server do, so a non-ASCII value survives as text and is judged later
rather than raising here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Union

__all__ = ["Headers", "HeadersInput"]

HeaderPair = tuple[str | bytes, str | bytes]
HeadersInput = Union["Headers", Mapping[str, str], Iterable[HeaderPair], None]


def _text(value: str | bytes) -> str:
    if isinstance(value, str):
        return value
    return bytes(value).decode("latin-1")


class Headers(Mapping[str, str]):
    """Read-only headers; lookup ignores case, ``get_all`` keeps repeats.

    ``headers[name]`` gives the first value for the name.
    """

    __slots__ = ("_items", "_first")

    def __init__(self, raw: HeadersInput = None) -> None:
        items: list[tuple[str, str]] = []
        if raw is None:
            pass
        elif isinstance(raw, Headers):
            items = list(raw._items)
        elif isinstance(raw, Mapping):
            items = [(_text(k).lower(), _text(v)) for k, v in raw.items()]
        else:
            items = [(_text(k).lower(), _text(v)) for k, v in raw]
        self._items: tuple[tuple[str, str], ...] = tuple(items)
        first: dict[str, str] = {}
        for name, value in self._items:
            first.setdefault(name, value)
        self._first = first

    @classmethod
    def from_wsgi_environ(cls, environ: Mapping[str, object]) -> Headers:
        """Build headers from a WSGI environ (``HTTP_*``, CONTENT_TYPE/LENGTH)."""
        pairs: list[tuple[str, str]] = []
        for key, value in environ.items():
            if not isinstance(value, str):
                continue
            if key.startswith("HTTP_"):
                pairs.append((key[5:].replace("_", "-").lower(), value))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                pairs.append((key.replace("_", "-").lower(), value))
        headers = cls.__new__(cls)
        headers._items = tuple(pairs)
        headers._first = dict(reversed(pairs))
        return headers

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()]

    def get_all(self, name: str) -> list[str]:
        """Every value sent for ``name``, in order (empty list if none)."""
        name = name.lower()
        return [value for key, value in self._items if key == name]

    def items_list(self) -> list[tuple[str, str]]:
        """All (lower-cased name, value) pairs, repeats included."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def __repr__(self) -> str:
        # Never show the signature: it is a MAC of the body under the secret.
        shown = {k: ("<hidden>" if k == "layer-webhook-signature" else v) for k, v in self._first.items()}
        return f"Headers({shown!r})"
