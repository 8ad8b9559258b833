"""Load schemes, topics and agreements from TOML data files into a :class:`Registry`.

This is the I/O edge of the core: it reads the built-in files shipped in ``gsomia/data`` (which a
security officer can read and correct) and any officer-supplied event file for what-if analysis.
Every problem in a file becomes a :class:`~gsomia.errors.DataError` naming the file and the entry.

Agreement file format (see ``src/gsomia/data/agreements/*.toml``)::

    id, title, kind ("bilateral" | "hub_arrangement"), parties, zone, term_years (0 = no fixed
    term), notice_days, duration_clause, treaty, hub, relay_rule, topics (absent = all), sources
    [[tables]] version, note, [[tables.rows]] english, <PARTY> = [native texts], source | assumed
    [[events]] kind, at (TOML offset date-time or ISO 8601 string with offset), by, note, source,
               condition, disputed_by, effective, table_version

A what-if file holds ``[[events]]`` in the same format, and optionally ``agreement = "<id>"``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from gsomia.agreements import Agreement, Event, EventKind, Kind, RelayRule
from gsomia.errors import DataError, GsomiaError
from gsomia.instants import parse_instant, require_aware
from gsomia.markings import EquivalenceRow, EquivalenceTable, Level, Scheme
from gsomia.registry import Registry, Topic

_AGREEMENT_KEYS = {
    "id",
    "title",
    "kind",
    "parties",
    "zone",
    "term_years",
    "notice_days",
    "duration_clause",
    "treaty",
    "hub",
    "relay_rule",
    "topics",
    "sources",
    "notes",
    "tables",
    "events",
}
_EVENT_KEYS = {
    "kind",
    "at",
    "by",
    "note",
    "source",
    "condition",
    "disputed_by",
    "effective",
    "table_version",
}


def _instant(value: object, where: str) -> datetime:
    if isinstance(value, datetime):
        return require_aware(value, where)
    if isinstance(value, str):
        return parse_instant(value)
    raise DataError(f"{where}: expected a date-time with offset, got {value!r}")


def parse_event(raw: Mapping[str, Any], where: str, *, hypothetical: bool = False) -> Event:
    """One ``[[events]]`` entry."""
    unknown = set(raw) - _EVENT_KEYS
    if unknown:
        raise DataError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        kind = EventKind(raw["kind"])
    except (KeyError, ValueError):
        kinds = ", ".join(k.value for k in EventKind)
        raise DataError(f"{where}: 'kind' must be one of {kinds}") from None
    if "at" not in raw:
        raise DataError(f"{where}: 'at' is missing")
    effective = raw.get("effective")
    return Event(
        kind=kind,
        at=_instant(raw["at"], f"{where} at"),
        by=raw.get("by"),
        note=str(raw.get("note", "")),
        source=str(raw.get("source", "")),
        condition=str(raw.get("condition", "")),
        disputed_by=raw.get("disputed_by"),
        effective=None if effective is None else _instant(effective, f"{where} effective"),
        table_version=raw.get("table_version"),
        hypothetical=hypothetical,
    )


def parse_agreement(raw: Mapping[str, Any], where: str) -> Agreement:
    """One agreement file's content."""
    unknown = set(raw) - _AGREEMENT_KEYS
    if unknown:
        raise DataError(f"{where}: unknown keys {sorted(unknown)}")
    agreement_id = str(raw.get("id", ""))
    parties = tuple(raw.get("parties", ()))
    tables = []
    for t in raw.get("tables", ()):
        rows = tuple(
            EquivalenceRow(
                english=str(r.get("english", "")),
                markings={p: tuple(r[p]) for p in parties if p in r},
                source=str(r.get("source", "")),
                assumed=bool(r.get("assumed", False)),
            )
            for r in t.get("rows", ())
        )
        tables.append(
            EquivalenceTable(
                agreement=agreement_id,
                version=int(t["version"]),
                rows=rows,
                note=str(t.get("note", "")),
            )
        )
    events = tuple(
        parse_event(e, f"{where} event {i + 1}") for i, e in enumerate(raw.get("events", ()))
    )
    term = raw.get("term_years", 1)
    topics = raw.get("topics")
    relay = raw.get("relay_rule")
    return Agreement(
        id=agreement_id,
        title=str(raw.get("title", agreement_id)),
        kind=Kind(raw["kind"]),
        parties=parties,
        tables=tuple(tables),
        events=events,
        zone_name=str(raw.get("zone", "UTC")),
        term_years=term or None,
        notice_days=raw.get("notice_days", 90),
        topics=None if topics is None else frozenset(topics),
        hub=raw.get("hub"),
        relay_rule=None if relay is None else RelayRule(relay),
        treaty=bool(raw.get("treaty", True)),
        duration_clause=str(raw.get("duration_clause", "")),
        notes=str(raw.get("notes", "")),
        sources=tuple(raw.get("sources", ())),
    )


def parse_schemes(raw: Mapping[str, Any]) -> dict[str, Scheme]:
    """The ``[[schemes]]`` of ``schemes.toml``."""
    out: dict[str, Scheme] = {}
    for s in raw.get("schemes", ()):
        levels = tuple(
            Level(
                scheme=s["id"],
                native=lv["native"],
                english=lv["english"],
                rank=lv["rank"],
                aliases=tuple(lv.get("aliases", ())),
                note=lv.get("note", ""),
            )
            for lv in s["levels"]
        )
        out[s["id"]] = Scheme(
            id=s["id"],
            name=s["name"],
            levels=levels,
            party=s.get("party"),
            source=s.get("source", ""),
        )
    return out


def _read_toml(path: Path | resources.abc.Traversable, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{what}: file not found", code="DATA_FILE_NOT_FOUND") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{what}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{what}: not valid TOML ({exc})") from None


def _guard(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a parser, turning any model error into a DataError that names the file."""
    try:
        return fn(*args, **kwargs)
    except DataError:
        raise
    except GsomiaError as exc:
        raise DataError(f"{what}: {exc.message}", detail={"cause": exc.code}) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{what}: invalid entry ({type(exc).__name__}: {exc})") from None


@cache
def builtin_registry() -> Registry:
    """The registry of the data shipped with gsomia (loaded once per process)."""
    data = resources.files("gsomia") / "data"
    schemes = _guard(
        "schemes.toml", parse_schemes, _read_toml(data / "schemes.toml", "schemes.toml")
    )
    topics_raw = _read_toml(data / "topics.toml", "topics.toml")
    topics = {t["code"]: Topic(t["code"], t["name"]) for t in topics_raw.get("topics", ())}
    agreements = {}
    for entry in sorted((data / "agreements").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            what = f"agreements/{entry.name}"
            agreement = _guard(what, parse_agreement, _read_toml(entry, what), what)
            agreements[agreement.id] = agreement
    return _guard("built-in data", Registry, schemes, topics, agreements)  # type: ignore[no-any-return]


def load_events(path: Path, *, hypothetical: bool = True) -> tuple[str | None, tuple[Event, ...]]:
    """Read a what-if file: ``(agreement id or None, events)``."""
    what = str(path)
    raw = _read_toml(path, what)
    unknown = set(raw) - {"agreement", "events"}
    if unknown:
        raise DataError(f"{what}: unknown keys {sorted(unknown)} (expected agreement, events)")
    events = tuple(
        _guard(what, parse_event, e, f"{what} event {i + 1}", hypothetical=hypothetical)
        for i, e in enumerate(raw.get("events", ()))
    )
    if not events:
        raise DataError(f"{what}: no [[events]] in the file")
    agreement = raw.get("agreement")
    return (None if agreement is None else str(agreement)), events


def with_events(registry: Registry, agreement_id: str, events: Iterable[Event]) -> Registry:
    """The registry with hypothetical ``events`` added to one agreement's history."""
    agreement = registry.agreement(agreement_id).with_events(tuple(events))
    return _guard("what-if events", registry.replace_agreements, [agreement])  # type: ignore[no-any-return]
