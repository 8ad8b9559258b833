"""Clocks a running node reads: the system clock, and a scenario clock for demos and drills.

The core never reads a clock; the node reads its :class:`~gsomia.ports.Clock` port once per
decision and hands the instant down (STYLE.md: time is passed in).
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gsomia.errors import InputError
from gsomia.instants import parse_instant

__all__ = ["ScenarioClock", "SystemClock", "set_scenario_instant"]


class SystemClock:
    """The host's wall clock, timezone-aware in UTC; the default of every node."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


def set_scenario_instant(path: Path, instant: datetime) -> None:
    """Move every node reading ``path`` to ``instant`` (from which time flows on)."""
    temporary = Path(path).with_suffix(".tmp")
    temporary.write_text(instant.astimezone(UTC).isoformat() + "\n", encoding="utf-8")
    os.replace(temporary, path)


class ScenarioClock:
    """For demos and drills only (``gsomia node serve --scenario-clock FILE``).

    The file holds an ISO 8601 instant; the clock reads that instant plus the wall time elapsed
    since the file was last written, so time flows between the scenario's steps and every node
    of one scenario, reading the same file, agrees (the channel's skew check holds).  The file is
    read again only when its modification time changes.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._base = datetime.now(UTC)
        self._set_at = time.time()
        self._load()

    def _load(self) -> None:
        try:
            info = self._path.stat()
            if info.st_mtime_ns == self._stamp:
                return
            text = self._path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(
                f"cannot read the scenario clock {self._path}: {exc.strerror}",
                code="CLOCK_UNAVAILABLE",
            ) from None
        self._base = parse_instant(text).astimezone(UTC)
        self._set_at = info.st_mtime
        self._stamp = info.st_mtime_ns

    def now(self) -> datetime:
        """The scenario's current instant, in UTC."""
        with self._lock:
            self._load()
            return self._base + timedelta(seconds=max(0.0, time.time() - self._set_at))
