"""An agreement's life drawn as a picture: the shapes of an SVG timeline, from the compiled timeline.

Pure: :func:`draw` takes the compiled :class:`~gsomia.agreements.Timeline`, its history (events,
timed terminations, automatic renewals: :func:`gsomia.agreements.history`), the node's ``now``
and the "as of" instant, and returns a :class:`Drawing` of plain shapes in SVG user units; the
template ``_timeline.svg`` writes them out (autoescaped).  Nothing is drawn in the browser.

What is drawn, left to right from signature to a year past the later of now and "as of":

* a band of segments ``[start, next start)`` coloured by state (not in force, in force, notice
  given, notice suspended, terminated; a suspended notice is hatched over the in-force colour,
  since the agreement stays in force), each with a ``<title>`` giving its state and bounds;
* a tick per term start (signature, entry into force, each automatic renewal, Art. 21);
* a marker per recorded event (notice, suspension, resumption, withdrawal, termination) with its
  label, on one of three rows so that labels of close events do not overlap;
* markers for now, the "as of" instant, the next renewal and the notice deadline;
* the years along the axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gsomia.agreements import HistoryEntry, State, Status, Timeline
from gsomia.instants import format_instant

__all__ = ["HEIGHT", "STATE_STYLE", "WIDTH", "Drawing", "draw"]

WIDTH: Final = 960.0
HEIGHT: Final = 250.0
_LEFT: Final = 24.0
_RIGHT: Final = WIDTH - 24.0
_BAND_TOP: Final = 120.0
_BAND_BOTTOM: Final = 150.0
_ROWS: Final = (24.0, 52.0, 80.0)

#: state → (fill, legend label).  Fills are picked to differ in lightness too (not colour alone).
STATE_STYLE: Final = {
    State.NOT_IN_FORCE: ("#c9ced6", "not in force"),
    State.IN_FORCE: ("#1b7a3a", "in force"),
    State.NOTICE_GIVEN: ("#b35c00", "notice of termination given"),
    State.NOTICE_SUSPENDED: ("url(#hatch-suspended)", "notice suspended (still in force)"),
    State.TERMINATED: ("#4a4f57", "terminated"),
}
_EVENT_LABEL: Final = {
    "signed": "signed",
    "entered_into_force": "in force",
    "notice_given": "notice",
    "notice_suspended": "notice suspended",
    "notice_resumed": "notice resumed",
    "notice_withdrawn": "notice withdrawn",
    "amended": "amended",
    "terminated": "terminated",
    "notice_effective": "termination takes effect",
}


@dataclass(frozen=True, slots=True)
class Band:
    """One segment of the band."""

    x: float
    width: float
    fill: str
    state: str
    title: str


@dataclass(frozen=True, slots=True)
class Marker:
    """A vertical line at ``x`` with a label on row ``y``; ``kind`` is its CSS class."""

    x: float
    y: float
    label: str
    title: str
    kind: str
    anchor: str


@dataclass(frozen=True, slots=True)
class Tick:
    """A short line across the band (a term start) or below the axis (a year)."""

    x: float
    label: str
    title: str


@dataclass(frozen=True, slots=True)
class Drawing:
    """Everything the template draws, and the words that describe it."""

    width: float
    height: float
    band_top: float
    band_bottom: float
    bands: tuple[Band, ...]
    terms: tuple[Tick, ...]
    years: tuple[Tick, ...]
    markers: tuple[Marker, ...]
    legend: tuple[tuple[str, str], ...]
    description: str


class _Scale:
    def __init__(self, start: datetime, end: datetime) -> None:
        self.t0 = start.timestamp()
        self.span = max(end.timestamp() - self.t0, 1.0)

    def x(self, when: datetime) -> float:
        ratio = (when.timestamp() - self.t0) / self.span
        return round(_LEFT + min(max(ratio, 0.0), 1.0) * (_RIGHT - _LEFT), 2)


def _anchor(x: float) -> str:
    if x > _RIGHT - 90:
        return "end"
    return "start" if x < _LEFT + 90 else "middle"


def draw(
    timeline: Timeline,
    entries: tuple[HistoryEntry, ...],
    now: datetime,
    at: datetime,
    status_now: Status,
) -> Drawing:
    """The drawing of ``timeline`` up to a year past the later of ``now`` and ``at``."""
    agreement = timeline.agreement
    tz = agreement.tz
    first = min((e.at for e in agreement.events), default=now)
    start = first - timedelta(days=120)
    end = max(now, at) + timedelta(days=400)
    scale = _Scale(start, end)

    def when(value: datetime) -> str:
        return format_instant(value, tz)

    bands = []
    segments = timeline.segments
    for i, seg in enumerate(segments):
        seg_end = segments[i + 1].start if i + 1 < len(segments) else end
        if seg_end <= start or seg.start >= end:
            continue
        x0, x1 = scale.x(max(seg.start, start)), scale.x(min(seg_end, end))
        fill, label = STATE_STYLE[seg.state]
        since = "" if seg.start <= start else f" from {when(seg.start)}"
        until = "" if seg_end >= end else f" until {when(seg_end)}"
        bands.append(Band(x0, max(x1 - x0, 0.5), fill, str(seg.state), f"{label}{since}{until}"))

    terms, markers = [], []
    row = 0
    for entry in entries:
        x = scale.x(entry.at)
        if entry.kind == "renewed":
            terms.append(Tick(x, "", f"{entry.note} ({when(entry.at)})"))
            continue
        label = _EVENT_LABEL.get(entry.kind, entry.kind)
        by = f" by {entry.by}" if entry.by else ""
        title = f"{label}{by}: {when(entry.at)}" + (f" — {entry.note}" if entry.note else "")
        if entry.kind in ("signed", "entered_into_force"):
            terms.append(Tick(x, "", title))
        markers.append(
            Marker(
                x,
                _ROWS[row % 3],
                f"{label} {entry.at.astimezone(tz):%Y-%m-%d}",
                title,
                "event",
                _anchor(x),
            )
        )
        row += 1
    for name, value, kind in (
        ("next renewal", status_now.next_renewal, "renewal"),
        ("notice deadline", status_now.notice_deadline, "deadline"),
    ):
        if value is not None and start <= value <= end:
            x = scale.x(value)
            markers.append(Marker(x, _ROWS[row % 3], name, f"{name}: {when(value)}", kind,
                                  _anchor(x)))  # fmt: skip
            row += 1
    for name, value, kind in (("now", now, "now"), ("as of", at, "asof")):
        x = scale.x(value)
        markers.append(Marker(x, HEIGHT - 8, name, f"{name}: {when(value)}", kind, _anchor(x)))

    years = tuple(
        Tick(scale.x(datetime(y, 1, 1, tzinfo=tz)), str(y), str(y))
        for y in range(start.astimezone(tz).year + 1, end.astimezone(tz).year + 1)
    )
    if len(years) > 16:  # keep the axis readable on long histories
        years = years[:: (len(years) + 15) // 16]
    seen = {seg.state for seg in segments}
    legend = tuple((fill, label) for state, (fill, label) in STATE_STYLE.items() if state in seen)
    description = "; ".join(b.title for b in bands) + "."
    return Drawing(WIDTH, HEIGHT, _BAND_TOP, _BAND_BOTTOM, tuple(bands), tuple(terms), years,
                   tuple(markers), legend, description)  # fmt: skip
