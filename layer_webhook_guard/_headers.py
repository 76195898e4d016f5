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

    __slots__ = ("_items", "_values")

    def __init__(self, raw: HeadersInput = None) -> None:
        if raw is None:
            items: list[tuple[str, str]] = []
        elif isinstance(raw, Headers):
            items = raw.items_list()
        elif isinstance(raw, Mapping):
            items = [(_text(k).lower(), _text(v)) for k, v in raw.items()]
        else:
            pairs = list(raw)
            try:  # ASGI: all byte pairs, decoded in one pass
                items = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in pairs]  # type: ignore[union-attr]
            except AttributeError:  # str pairs, or a mix
                items = [(_text(k).lower(), _text(v)) for k, v in pairs]
        self._set(items)

    def _set(self, items: list[tuple[str, str]]) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(items)
        values: dict[str, list[str]] = {}
        for name, value in items:
            if name in values:
                values[name].append(value)
            else:
                values[name] = [value]
        self._values = values

    @classmethod
    def from_wsgi_environ(cls, environ: Mapping[str, object]) -> Headers:
        """Headers of a WSGI environ (``HTTP_*``, CONTENT_TYPE/LENGTH).

        A view: names are looked up in the environ on demand, so a request
        that is refused on its headers never copies them all.
        """
        return _EnvironHeaders(environ)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()][0]

    def get_all(self, name: str) -> list[str]:
        """Every value sent for ``name``, in order (empty list if none)."""
        return list(self._values.get(name.lower(), ()))

    def items_list(self) -> list[tuple[str, str]]:
        """All (lower-cased name, value) pairs, repeats included, in order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        # Never show the signature: it is a MAC of the body under the secret.
        shown = {k: ("<hidden>" if k == "layer-webhook-signature" else v[0]) for k, v in self._values.items()}
        return f"Headers({shown!r})"


def _compute_environ_key(name: str) -> str:
    key = name.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key


# The names the receiver asks for on every request, translated once.
_ENVIRON_KEYS = {
    name: _compute_environ_key(name)
    for name in (
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "layer-webhook-signature",
        "layer-webhook-event-type",
        "layer-webhook-request-id",
        "layer-webhook-id",
    )
}


def _environ_key(name: str) -> str:
    return _ENVIRON_KEYS.get(name) or _compute_environ_key(name)


class _EnvironHeaders(Headers):
    """Headers read straight from a WSGI environ until a full copy is needed.

    WSGI servers join repeated headers with ", ", so each name has at most
    one value here. :meth:`items_list` (and so ``Headers(view)``, which an
    event takes) makes a snapshot that no longer refers to the environ.
    """

    __slots__ = ("_environ",)

    def __init__(self, environ: Mapping[str, object]) -> None:
        self._environ = environ
        self._items = ()
        self._values = {}

    def _lookup(self, name: str) -> str | None:
        key = _environ_key(name)
        value = self._environ.get(key)
        if not isinstance(value, str) or (not value and not key.startswith("HTTP_")):
            return None  # an empty CONTENT_TYPE/LENGTH means "not sent"
        return value

    def __getitem__(self, name: str) -> str:
        value = self._lookup(name)
        if value is None:
            raise KeyError(name)
        return value

    def get_all(self, name: str) -> list[str]:
        value = self._lookup(name)
        return [] if value is None else [value]

    def items_list(self) -> list[tuple[str, str]]:
        environ = self._environ
        pairs = [
            (key[5:].replace("_", "-").lower(), value)
            for key, value in environ.items()
            if key[:5] == "HTTP_" and type(value) is str
        ]
        for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
            value = environ.get(key)
            if type(value) is str and value:
                pairs.append((name, value))
        return pairs

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lookup(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(Headers(self.items_list()))

    def __len__(self) -> int:
        return len(Headers(self.items_list()))

    def __repr__(self) -> str:
        return repr(Headers(self.items_list()))
