"""Per-batch key agreement: a sealing session for the sender, an opening cache for the recipient.

Theory of operation (docs/adr/0015-sealing-sessions.md)
--------------------------------------------------------
Sealing an item wraps its content key to each recipient with ephemeral-static X25519
(RFC 7748): ``kek || nonce = HKDF-SHA256(X25519(eph, recipient), salt = eph_pub || recipient_pub,
info)`` (RFC 5869; :func:`gsomia.envelope._primitives.wrap_key`).  ``info`` holds the SHA-256 of
the item's header core (item id, creation time, sender, agreement, label digest, key commitment,
ephemeral key, …) and the recipient's party and kid, so it is unique per item and recipient even
when the ephemeral key is not: two items sealed with one ephemeral key get independent
key-encryption keys and nonces, as in ECDH-ES with a per-message KDF context (RFC 8418 §2,
NIST SP 800-56A §6.2.2 "C(1e, 1s)").

A :class:`SealSession` therefore keeps ONE ephemeral key for a batch of items and, per recipient
key, ``PRK = HKDF-Extract(eph_pub || recipient_pub, X25519(eph, recipient))`` (RFC 5869 §2.2): a
batch to the same recipients costs one key generation and one exchange (and extract) per
recipient, not per item; each item costs HKDF-Expand (§2.3) and AES-GCM per recipient.  The
wire format does not change: an item sealed in a session is byte for byte an item whose ephemeral
key happened to be that one, and opens with :func:`gsomia.envelope.open_item` alone.

An :class:`OpenCache` is the recipient's side: a small LRU map (ephemeral public, own public) →
that PRK, so the items of one batch cost one exchange to open, not one each.  Only the exchange
(and the extract) is skipped; the signature, label binding, key unwrap (HKDF-Expand, AEAD), key
commitment and payload AEAD are checked on every item, and a PRK is stored only after its wrap
decrypted.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Final

from gsomia.envelope import _primitives as prim
from gsomia.envelope.errors import SealError

__all__ = [
    "DEFAULT_OPEN_CACHE_SIZE",
    "DEFAULT_SESSION_ITEMS",
    "LruCache",
    "OpenCache",
    "SealSession",
    "SharedSecretCache",
]

#: The most items one ephemeral key of a :class:`SealSession` seals (then it draws a new one).
#: At least :data:`gsomia.node.release_batch.MAX_RELEASE_BATCH` (500): one batch, one key.
DEFAULT_SESSION_ITEMS: Final = 512

#: Entries of an :class:`OpenCache`: a few partners, a few batches in flight each.
DEFAULT_OPEN_CACHE_SIZE: Final = 256


class SealSession:
    """One ephemeral X25519 key shared by the items of a batch, and the wrap's PRK for each
    recipient key (see the module docstring).  Pass it to :func:`gsomia.envelope.seal` as
    ``session=``.

    Bounded: one ephemeral key seals at most ``max_items`` items, then the next item draws a fresh
    one (and forgets the PRKs).  A session is meant to live for ONE batch (one
    :func:`gsomia.node.release_batch.release_many` call) and then be dropped, so the ephemeral
    private key lives in memory for one batch instead of one item.  Not thread-safe: one caller
    at a time.  The key is drawn on the first seal, so a batch whose items are all refused costs
    nothing.
    """

    __slots__ = ("_left", "_wrapper", "max_items")

    def __init__(self, max_items: int = DEFAULT_SESSION_ITEMS) -> None:
        if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
            raise SealError("a session seals at least one item", code="SEAL_SESSION")
        self.max_items = max_items
        self._wrapper: prim.KeyWrapper | None = None
        self._left = 0

    def _take(self) -> prim.KeyWrapper:
        """The wrapper for the next item (a fresh ephemeral key every ``max_items`` items)."""
        wrapper = self._wrapper
        if wrapper is None or self._left <= 0:
            wrapper = self._wrapper = prim.KeyWrapper()
            self._left = self.max_items
        self._left -= 1
        return wrapper

    def close(self) -> None:
        """Drop the ephemeral key and the PRKs now; a later seal draws a new key."""
        self._wrapper = None
        self._left = 0

    def __repr__(self) -> str:
        return f"SealSession(max_items={self.max_items})"


class LruCache:
    """A bounded LRU map bytes → bytes, shared between threads without a lock.

    The core takes no lock (no I/O, no threading): each step is ONE call on the ordered dict,
    atomic under the interpreter lock, and a step that finds the entry gone meanwhile does
    without it; a race can only cost a recomputation, or drop an extra entry.  At most
    ``maxsize`` entries, the least recently used dropped first.  ``hits`` and ``misses`` are
    statistics, approximate under concurrency.
    """

    __slots__ = ("_entries", "hits", "maxsize", "misses")

    def __init__(self, maxsize: int = 256) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise prim.CryptoError(
                "cache size must be an integer >= 1", code="CRYPTO_PARAMS_INVALID"
            )
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry (e.g. when the node's keys change)."""
        self._entries.clear()

    def _get(self, key: bytes) -> bytes | None:
        value = self._entries.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        with contextlib.suppress(KeyError):  # evicted meanwhile by another thread: still valid
            self._entries.move_to_end(key)
        return value

    def _put(self, key: bytes, value: bytes) -> None:
        entries = self._entries
        entries[key] = value
        while len(entries) > self.maxsize:
            try:
                entries.popitem(last=False)
            except KeyError:  # another thread emptied it meanwhile
                break

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self._entries)} of {self.maxsize} entries>)"


class SharedSecretCache(LruCache):
    """A bounded LRU map (ephemeral public, recipient public) → the wrap's PRK, for unwrapping.

    Items of one sealing batch share one ephemeral key (:class:`KeyWrapper`), so a recipient who
    remembers ``PRK = HKDF-Extract(salt = ephemeral public || own public, X25519(own key,
    ephemeral))`` (RFC 5869 §2.2) skips the exchange (and the extract) for every item of the batch
    but the first.  :func:`~gsomia.envelope._primitives.unwrap_key` reads it, and writes an entry
    only after the wrap it computed the PRK for has decrypted (the AEAD tag verified), so an item
    whose unwrap fails leaves the cache as it was: nothing unverified is ever stored.  A hit skips
    the exchange only; the HKDF-Expand and the AEAD run as without the cache.  Thread-safe as
    :class:`LruCache`.  Opaque: its repr never shows the secrets.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self._entries)} of {self.maxsize} secrets>)"


class OpenCache(SharedSecretCache):
    """The recipient's cache of key-wrap PRKs (one X25519 exchange each), for
    :func:`gsomia.envelope.open_item`'s ``cache=`` (an LRU of ``maxsize`` entries; see
    :class:`SharedSecretCache`), and of the batch signatures it saw verify (``signatures``: the
    exact ``(public key, signature, batch message)`` of each, stored only after Ed25519 accepted
    it; :mod:`gsomia.envelope.batch`).  Thread-safe; one per node."""

    __slots__ = ("signatures",)

    def __init__(self, maxsize: int = DEFAULT_OPEN_CACHE_SIZE) -> None:
        super().__init__(maxsize)
        self.signatures = LruCache(maxsize)

    def clear(self) -> None:
        """Forget every secret and every verified signature."""
        super().clear()
        self.signatures.clear()
