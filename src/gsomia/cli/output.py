"""Output helpers shared by every command: JSON or text, errors as problem details."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from gsomia.errors import GsomiaError
from gsomia.reasons import Reason

STATE_WORDS = {
    "not_in_force": "not in force",
    "in_force": "in force",
    "notice_given": "in force, notice of termination given",
    "notice_suspended": "in force, notice of termination suspended",
    "terminated": "terminated",
}


def emit_json(obj: Any, out: TextIO | None = None) -> None:
    """One JSON document, UTF-8 text kept as is (Korean and Japanese stay readable)."""
    print(json.dumps(obj, ensure_ascii=False, indent=2), file=out or sys.stdout)


def emit_error(err: GsomiaError, as_json: bool) -> int:
    """Report ``err``: problem details on stdout with ``--json``, a line on stderr otherwise."""
    if as_json:
        emit_json({"error": err.to_problem()})
    else:
        print(f"gsomia: error [{err.code}]: {err.message}", file=sys.stderr)
    return err.exit_code


def when(value: datetime | None, tz: ZoneInfo, now: datetime | None = None) -> str:
    """An instant in ``tz`` for people, with a countdown if ``now`` is given."""
    if value is None:
        return "—"
    local = value.astimezone(tz)
    text = local.strftime("%Y-%m-%d %H:%M") + (f":{local.second:02d}" if local.second else "")
    text += f" {local.tzname()}"
    if now is None:
        return text
    days = (value - now).total_seconds() / 86400
    if abs(days) < 1:
        hours = (value - now).total_seconds() / 3600
        rel = f"in {hours:.1f} h" if hours >= 0 else f"{-hours:.1f} h ago"
    else:
        rel = f"in {days:.0f} days" if days >= 0 else f"{-days:.0f} days ago"
    return f"{text}  ({rel})"


def reason_lines(reasons: tuple[Reason, ...] | list[Reason], indent: str = "  ") -> list[str]:
    """``CODE  message  [cite]`` lines."""
    return [
        f"{indent}{r.code:<24} {r.message}" + (f"  [{r.cite}]" if r.cite else "") for r in reasons
    ]


class Progress:
    """A progress bar on stderr for long work (only drawn when stderr is a terminal)."""

    def __init__(self, what: str, enabled: bool | None = None) -> None:
        self.what = what
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        bar = "█" * filled + "·" * (width - filled)
        print(
            f"\r{self.what} [{bar}] {done:,}/{total:,} ({100 * done / total:5.1f}%)",
            end="",
            file=sys.stderr,
            flush=True,
        )
        self.drawn = True

    def close(self) -> None:
        """End the bar's line."""
        if self.drawn:
            print(file=sys.stderr)
