"""Acting as Layer: the verification challenge and signed deliveries over HTTP.

Used by ``layer-webhook-guard send`` and ``demo``. Layer counts a delivery
as successful when the answer is any 2xx within one second; this module
measures exactly that. It talks only to the URL it is given.
"""

from __future__ import annotations

import http.client
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

__all__ = ["LAYER_DEADLINE", "Reply", "challenge", "check_url", "deliver", "request"]

#: Layer's deadline for an answer, in seconds.
LAYER_DEADLINE = 1.0


@dataclass(frozen=True)
class Reply:
    """What the receiver answered, and how long it took."""

    status: int | None
    elapsed: float
    body: bytes = b""
    error: str | None = None

    @property
    def in_time(self) -> bool:
        return self.elapsed <= LAYER_DEADLINE

    @property
    def success(self) -> bool:
        """Would Layer count this a success (2xx within one second)?"""
        return self.error is None and self.status is not None and 200 <= self.status < 300 and self.in_time


def check_url(url: str) -> None:
    """Raise ValueError unless ``url`` is an http(s) URL with a host (and a valid port)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range
    except ValueError:
        raise ValueError(f"not a valid URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if port == 0:
        raise ValueError(f"port 0 in {url!r}")


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    check_url(url)
    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "", parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return conn, target


def request(
    url: str,
    method: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> Reply:
    """One request; network errors become a Reply with ``error`` set."""
    conn, target = _connection(url, timeout)
    start = time.perf_counter()
    try:
        conn.request(method, target, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, time.perf_counter() - start, data)
    except (OSError, http.client.HTTPException) as exc:
        return Reply(None, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def challenge(url: str, *, value: str | None = None, timeout: float = 5.0) -> tuple[Reply, str]:
    """Layer's verification GET; returns the reply and the value sent."""
    value = value if value is not None else secrets.token_urlsafe(24)
    sep = "&" if "?" in url else "?"
    reply = request(f"{url}{sep}verification_challenge={quote(value, safe='')}", "GET", timeout=timeout)
    return reply, value


def deliver(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = 5.0) -> Reply:
    """POST one delivery as Layer does (the headers are sent as given)."""
    return request(url, "POST", body=body, headers=headers, timeout=timeout)
