"""The outbox's retry schedule: a pure function of the attempt number and the message key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from gsomia.errors import InputError
from gsomia.instants import require_aware


@dataclass(frozen=True, slots=True)
class Backoff:
    """The retry schedule of the outbox: exponential, capped, with deterministic jitter.

    Attempt ``n`` (1-based) waits ``min(cap, first * factor**(n-1))`` less up to ``jitter`` of
    it; the fraction comes from SHA-256 of the message key and ``n``, so retries of different
    messages spread out while the schedule stays a pure function (tests need no randomness).
    """

    first: timedelta = timedelta(seconds=1)
    factor: int = 2
    cap: timedelta = timedelta(minutes=5)
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if not timedelta(0) < self.first <= self.cap or self.factor < 1:
            raise InputError(
                "backoff needs 0 < first <= cap and factor >= 1", code="BACKOFF_INVALID"
            )
        if not 0.0 <= self.jitter < 1.0:
            raise InputError("backoff jitter is a fraction in [0, 1)", code="BACKOFF_INVALID")

    def delay(self, attempt: int, key: str = "") -> timedelta:
        """The wait after attempt number ``attempt`` (1-based) of the message ``key``."""
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise InputError("attempt numbers start at 1", code="BACKOFF_INVALID")
        first, cap = _micros(self.first), _micros(self.cap)
        base = cap
        if self.factor == 1 or attempt - 1 < cap.bit_length():  # else 2**(n-1) alone passes cap
            base = min(cap, first * self.factor ** (attempt - 1))
        seed = hashlib.sha256(f"{key}\x00{attempt}".encode()).digest()
        fraction = int.from_bytes(seed[:8], "big") / 2**64
        return timedelta(microseconds=base - int(base * self.jitter * fraction))

    def next_attempt(self, attempt: int, after: datetime, key: str = "") -> datetime:
        """When to try again after attempt ``attempt`` made at ``after``."""
        return require_aware(after, "after") + self.delay(attempt, key)


def _micros(value: timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
