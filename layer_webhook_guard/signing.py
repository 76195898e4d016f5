"""HMAC signing and constant-time verification of webhook bodies.

Trust model: the body bytes and the signature header come from the network
and are hostile until the MAC matches. The signature value is parsed strictly
(exactly one hex digest of the right length, nothing else) and compared on
bytes with :func:`hmac.compare_digest`. Parsing never raises: anything odd is
simply "not verified". Secrets are settled once, in the constructor, and are
never shown by ``repr``, ``str`` or any error message.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import warnings
from collections.abc import Sequence

from .errors import ConfigurationError

__all__ = ["SUPPORTED_ALGORITHMS", "SignatureVerifier", "sign"]

SecretInput = str | bytes | bytearray | Sequence[str | bytes | bytearray]

#: Digest names accepted for ``algorithm`` (HMAC with these is still sound).
SUPPORTED_ALGORITHMS = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512"})

# Only ASCII space and tab around the value; anything else is malformed.
_OUTER_WS = " \t"
_PREFIX_RE = re.compile(r"([A-Za-z0-9_-]+)=")


def _check_algorithm(algorithm: object) -> str:
    if not isinstance(algorithm, str) or algorithm.lower() not in SUPPORTED_ALGORITHMS:
        raise ConfigurationError(
            f"unknown signature algorithm {algorithm!r}; use one of {', '.join(sorted(SUPPORTED_ALGORITHMS))}"
        )
    return algorithm.lower()


def _key_bytes(secret: object, *, where: str = "secret") -> bytes:
    """Turn one secret into key bytes; refuse empty ones. Never echo it."""
    if isinstance(secret, str):
        try:
            # surrogateescape gives back the bytes of a secret that came from
            # os.environ or argv holding non-UTF-8 bytes.
            key = secret.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise ConfigurationError(f"the webhook {where} is not valid text (it cannot be encoded as UTF-8)") from None
    elif isinstance(secret, (bytes, bytearray, memoryview)):
        key = bytes(secret)
    else:
        raise ConfigurationError(f"the webhook {where} must be str or bytes, not {type(secret).__name__}")
    if not key.strip():
        raise ConfigurationError(f"the webhook {where} is empty; set the shared secret Layer signs with")
    if key != key.strip():
        warnings.warn(
            f"the webhook {where} has leading or trailing whitespace; it is used as given",
            UserWarning,
            stacklevel=4,
        )
    return key


def _keys(secret: object) -> tuple[bytes, ...]:
    if secret is None:
        raise ConfigurationError("no webhook secret configured; set the shared secret Layer signs with")
    if isinstance(secret, (str, bytes, bytearray, memoryview)):
        return (_key_bytes(secret),)
    if isinstance(secret, Sequence):
        if len(secret) == 0:
            raise ConfigurationError("the list of webhook secrets is empty")
        return tuple(_key_bytes(s, where=f"secret #{i + 1}") for i, s in enumerate(secret))
    raise ConfigurationError(f"the webhook secret must be str, bytes or a list of them, not {type(secret).__name__}")


def _require_bytes(body: object) -> bytes | bytearray | memoryview:
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"the body must be the raw request bytes, not {type(body).__name__} "
            "(re-serialising parsed JSON changes the signed bytes)"
        )
    return body


def sign(body: bytes, secret: str | bytes, *, algorithm: str = "sha1") -> str:
    """Return the lowercase hex HMAC of ``body`` keyed with ``secret``."""
    data = _require_bytes(body)
    return hmac.new(_key_bytes(secret), data, _check_algorithm(algorithm)).hexdigest()


def parse_signature(value: object, algorithm: str, digest_size: int) -> bytes | None:
    """Parse a signature header value into digest bytes, or None if malformed.

    Accepted: one hex digest of ``digest_size`` bytes in any case, optionally
    surrounded by ASCII spaces/tabs and optionally prefixed ``<algorithm>=``
    (prefix in any case, no space after ``=``). Everything else is None.
    """
    if isinstance(value, str):
        text = value
    elif isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).decode("latin-1")
    else:
        return None
    text = text.strip(_OUTER_WS)
    if not text.isascii():  # also rules out Unicode look-alike digits
        return None
    if len(text) != 2 * digest_size:
        match = _PREFIX_RE.match(text)
        if match is None or match.group(1).lower() != algorithm:
            return None
        text = text[match.end() :]
        if len(text) != 2 * digest_size:
            return None
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        return None
    # fromhex skips whitespace between pairs; with the length fixed above,
    # any inner whitespace leaves the digest short, so it is refused here.
    return digest if len(digest) == digest_size else None


class SignatureVerifier:
    """Verifies bodies against one or more shared secrets (rotation).

    >>> v = SignatureVerifier("s3cret")
    >>> v.verify(b"{}", v.sign(b"{}"))
    True
    """

    __slots__ = ("_keys", "_algorithm", "_digest_size", "_templates")

    def __init__(self, secret: SecretInput, *, algorithm: str = "sha1") -> None:
        self._algorithm = _check_algorithm(algorithm)
        self._keys = _keys(secret)
        self._digest_size = hashlib.new(self._algorithm).digest_size
        # Keyed HMAC states, copied per streamed request instead of re-keyed.
        self._templates = tuple(hmac.new(k, digestmod=self._algorithm) for k in self._keys)

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @property
    def digest_size(self) -> int:
        return self._digest_size

    def sign(self, body: bytes) -> str:
        """Sign ``body`` with the first (current) secret."""
        data = _require_bytes(body)
        return hmac.digest(self._keys[0], data, self._algorithm).hex()

    def parse(self, signature: object) -> bytes | None:
        """The digest bytes a signature header value claims, or None."""
        return parse_signature(signature, self._algorithm, self._digest_size)

    def verify(self, body: bytes, signature: str | bytes | None) -> bool:
        """True only if ``signature`` is a valid MAC of ``body`` under a secret."""
        data = _require_bytes(body)
        claimed = parse_signature(signature, self._algorithm, self._digest_size)
        return claimed is not None and self.verify_digest(data, claimed)

    def verify_digest(self, body: bytes | bytearray | memoryview, claimed: bytes) -> bool:
        """One-shot check of parsed digest bytes (see :meth:`parse`) against ``body``."""
        if len(self._keys) == 1:
            return hmac.compare_digest(hmac.digest(self._keys[0], body, self._algorithm), claimed)
        return self.matches([hmac.digest(k, body, self._algorithm) for k in self._keys], claimed)

    @staticmethod
    def matches(digests: Sequence[bytes], claimed: bytes) -> bool:
        """Constant-time check of ``claimed`` against every candidate digest."""
        ok = False
        for digest in digests:  # no short-circuit: every secret costs the same
            ok |= hmac.compare_digest(digest, claimed)
        return ok

    def streaming(self) -> StreamingMAC:
        """A MAC to feed chunk by chunk as the body arrives."""
        return StreamingMAC(self)

    def __repr__(self) -> str:
        return f"SignatureVerifier(<{len(self._keys)} secret(s) hidden>, algorithm={self._algorithm!r})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("SignatureVerifier holds secrets and cannot be pickled")


class StreamingMAC:
    """HMAC state for every configured secret, fed as chunks arrive."""

    __slots__ = ("_verifier", "_macs")

    def __init__(self, verifier: SignatureVerifier) -> None:
        self._verifier = verifier
        self._macs = [t.copy() for t in verifier._templates]

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        for mac in self._macs:
            mac.update(chunk)

    def matches(self, claimed: bytes) -> bool:
        return SignatureVerifier.matches([m.digest() for m in self._macs], claimed)
