"""Benchmark our release decision against Cedar, Casbin and OPA Rego, in one run, on one rule.

    python bench/policy.py [--json] [--n N] [--passes P] [--peer-passes Q] [--seed S]

The rule (``gsomia.policy.release``): a release ``sender → recipient`` of an item with an
originator label is allowed iff the label checks pass (both parties known and distinct, the sender
is the originator, the label's policy is the sender's scheme, the level is a level of that scheme,
the topic is known and on the label when the label names topics, the recipient is in Releasable
To) and either an agreement linking the two allows new exchanges at the instant, covers the topic
and its table in force gives the recipient an equivalent of the level (Art. 4, Art. 21), or a hub
arrangement (TISA) does so for both hops ``sender → hub → recipient`` with the hub in Releasable To.

How the peers get the same rule
-------------------------------
The peers do no calendar arithmetic, so the rule is compiled from our registry data into *grants*
(:func:`compile_grants`): for each agreement, the intervals during which it allows new exchanges,
as epoch-second bounds ``[start, end)`` taken from the timeline our lifecycle compiles (adjacent
segments with the same table version merged); for each direction the sender's level texts (native
and aliases) to which the table in force gives the recipient an equivalent (read from the table
rows, not through our look-up); the agreement's topic scope (or every known topic); and for the hub
arrangement the two-hop composition ``sender → hub → recipient``.  At request time each peer checks
the label and looks for a grant whose interval holds the request's epoch second:

- Cedar: one ``forbid … unless {label checks}`` and one ``permit`` per grant comparing
  ``context.at`` with the bounds; parties are entities; policies and entities are parsed once
  into ``PolicySet``/``Entities`` handles, the context is pre-serialised to JSON.
- Casbin: ABAC matcher over one policy row per grant (``casbin.Enforcer`` with ``model.conf`` and
  ``policy.csv`` in a temp dir); level and topic lists as ``|a|b|`` strings, bounds as fixed-width
  decimal strings (Casbin policy fields are strings); the label is a dict in the request.
- Rego: ``data.grants[sender][recipient]`` iterated by the rule, ``data.parties`` and
  ``data.topics`` as sets; the module is compiled once into a bundle (``Interpreter.build``) and
  each decision is ``set_input`` + ``query_bundle``, with the input pre-built as ``regopy.Input``.

Ours gets the pre-built ``OriginatorLabel`` and an aware ``datetime`` and does the rest itself
(binary search in the compiled timeline, memoised hop per segment), returning a ``Decision`` with
reasons.  Every engine answers every input; any disagreement on allowed/denied, or any peer
evaluation error, is printed and the script exits 1.

Each single decision is timed with ``time.perf_counter_ns`` after one warm-up pass; p50/p99 are
nearest-rank percentiles of all timed decisions.  ``variants`` adds the naive peer APIs (Cedar with
policy text parsed on every call, Rego ``query`` without a bundle), Cedar's batch call amortised,
and ours on a fresh registry (cold hop memo, first pass).

Target (PRODUCT.md §7): ours p50 <= 5 µs, with reasons.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import casbin
import cedarpy
from regopy import Input, Interpreter

from gsomia.agreements import Kind
from gsomia.catalog import builtin_registry
from gsomia.instants import parse_instant
from gsomia.labels import RELEASABLE_TO, TOPIC, Category, CategoryType, OriginatorLabel
from gsomia.policy import release
from gsomia.registry import Registry

#: The instants of the inputs: before TISA, across the ROK–JPN history (PRODUCT.md §4).
INSTANTS = tuple(
    parse_instant(s)
    for s in (
        "2014-06-01T12:00:00+09:00",  # before TISA (2014-12-29)
        "2016-11-22T12:00:00+09:00",  # day before the ROK–JPN GSOMIA enters into force
        "2018-06-01T12:00:00+09:00",  # in force
        "2019-09-15T12:00:00+09:00",  # ROK notice given 2019-08-23, pending
        "2019-11-22T20:00:00+09:00",  # notice suspended at 18:00
        "2019-11-23T00:00:00+09:00",  # when the notice would have taken effect
        "2021-06-01T12:00:00+09:00",  # suspended notice
        "2024-06-01T12:00:00+09:00",  # notice withdrawn 2023-03-21
    )
)
UNKNOWN_PARTY = "XYZ"
UNKNOWN_TOPIC = "SPACE-WEATHER"
FOREVER = 99_999_999_999  # epoch seconds, year 5138: the end of an open interval
_WIDTH = 11  # digits of an epoch second in Casbin's fixed-width strings


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Request:
    """One release question, in plain fields, with the label built from them."""

    sender: str
    recipient: str
    originator: str
    policy_id: str
    classification: str
    topic: str
    releasable_to: tuple[str, ...]
    label_topics: tuple[str, ...]
    at: datetime
    label: OriginatorLabel

    @property
    def epoch(self) -> int:
        return int(self.at.timestamp())

    def describe(self) -> str:
        return (
            f"{self.sender}->{self.recipient} at {self.at.isoformat()} topic={self.topic} "
            f"label(originator={self.originator}, policy={self.policy_id}, "
            f"level={self.classification}, releasable_to={list(self.releasable_to)}, "
            f"topics={list(self.label_topics)})"
        )


def _texts(reg: Registry, party: str) -> list[str]:
    """Every level text (native and aliases) of ``party``'s scheme."""
    scheme = next(s for s in reg.schemes.values() if s.party == party)
    return [t for lv in scheme.levels for t in (lv.native, *lv.aliases)]


def _request(
    sender: str,
    recipient: str,
    originator: str,
    policy_id: str,
    classification: str,
    topic: str,
    releasable_to: Sequence[str],
    label_topics: Sequence[str],
    at: datetime,
) -> Request:
    categories = []
    if releasable_to:
        categories.append(Category(RELEASABLE_TO, CategoryType.PERMISSIVE, tuple(releasable_to)))
    if label_topics:
        categories.append(Category(TOPIC, CategoryType.RESTRICTIVE, tuple(label_topics)))
    label = OriginatorLabel(
        policy_id=policy_id,
        classification=classification,
        originator=originator,
        created=at,
        categories=tuple(categories),
    )
    return Request(
        sender,
        recipient,
        originator,
        policy_id,
        classification,
        topic,
        tuple(sorted(set(releasable_to))),
        tuple(sorted(set(label_topics))),
        at,
        label,
    )


def make_requests(reg: Registry, n: int, seed: int) -> list[Request]:
    """``n`` seeded requests: plausible ones perturbed field by field, and hub-path candidates."""
    rng = random.Random(seed)
    parties = sorted(reg.parties)
    everyone = [*parties, UNKNOWN_PARTY]
    known_topics = sorted(reg.topics)
    topic_pool = ["NK-MISSILE"] * 4 + ["NK-NUCLEAR"] * 3 + known_topics + [UNKNOWN_TOPIC]
    scheme_ids = sorted(reg.schemes)
    texts = {p: _texts(reg, p) for p in parties}
    # the top levels (군사I급비밀, 機密, TOP SECRET) are drawn as often as the rest together
    tops = {
        p: next(s for s in reg.schemes.values() if s.party == p).levels[0].native for p in parties
    }
    all_texts = sorted({t for p in parties for t in texts[p]} | {"NATO SECRET", "UNCLASSIFIED"})
    out: list[Request] = []
    for i in range(n):
        at = rng.choice(INSTANTS)
        if i % 6 == 0:  # hub-path candidate: KOR<->JPN, NK topic, USA releasable
            sender, recipient = rng.sample(["KOR", "JPN"], 2)
            level = rng.choice(texts[sender])
            topic = rng.choice(["NK-MISSILE", "NK-NUCLEAR"])
            at = rng.choice((INSTANTS[0], INSTANTS[1], INSTANTS[1], INSTANTS[2]))
            out.append(
                _request(
                    sender,
                    recipient,
                    sender,
                    sender,
                    level,
                    topic,
                    ("KOR", "JPN", "USA"),
                    rng.choice([(), (topic,)]),
                    at,
                )
            )
            continue
        sender = rng.choice(everyone) if rng.random() < 0.15 else rng.choice(parties)
        recipient = rng.choice(everyone) if rng.random() < 0.15 else rng.choice(parties)
        originator = sender if rng.random() < 0.9 else rng.choice(everyone)
        policy_id = (
            originator
            if originator in reg.schemes and rng.random() < 0.9
            else rng.choice(scheme_ids)
        )
        if sender in texts and rng.random() < 0.85:
            level = tops[sender] if rng.random() < 0.3 else rng.choice(texts[sender])
        else:
            level = rng.choice(all_texts)
        topic = rng.choice(topic_pool)
        draw = rng.random()
        others = [t for t in known_topics if t != topic]
        if draw < 0.35:
            label_topics: tuple[str, ...] = ()
        elif draw < 0.8:
            label_topics = (topic, *rng.sample(others, rng.randrange(2)))
        else:
            label_topics = tuple(rng.sample(others, 1 + rng.randrange(2)))
        releasable = {p for p in parties if rng.random() < 0.6}
        if rng.random() < 0.85:
            releasable.add(recipient)
        elif recipient in releasable and rng.random() < 0.5:
            releasable.discard(recipient)
        if rng.random() < 0.05:
            releasable.add(UNKNOWN_PARTY)
        out.append(
            _request(
                sender,
                recipient,
                originator,
                policy_id,
                level,
                topic,
                sorted(releasable),
                label_topics,
                at,
            )
        )
    return out


# ---------------------------------------------------------------- the rule, compiled for peers


@dataclass(frozen=True)
class Grant:
    """While ``[start, end)``: ``sender`` may release ``levels`` on ``topics`` to ``recipient``."""

    agreement: str
    sender: str
    recipient: str
    via: str  # the hub, or "" for a direct hop
    levels: tuple[str, ...]
    topics: tuple[str, ...]
    scoped: bool  # whether ``topics`` is the agreement's scope (else: every known topic)
    start: int
    end: int


def _spans(reg: Registry, agreement_id: str) -> list[tuple[int, int, int]]:
    """``(start, end, table version)`` of each interval allowing new exchanges (Art. 21)."""
    segments = reg.timelines[agreement_id].segments
    spans: list[tuple[int, int, int]] = []
    for i, seg in enumerate(segments):
        if not seg.state.exchange_allowed:
            continue
        start = int(seg.start.timestamp())
        end = int(segments[i + 1].start.timestamp()) if i + 1 < len(segments) else FOREVER
        if spans and spans[-1][1] == start and spans[-1][2] == seg.table_version:
            spans[-1] = (spans[-1][0], end, seg.table_version)
        else:
            spans.append((start, end, seg.table_version))
    return spans


def _equivalent(rows: Sequence[Any], a: str, native: str, b: str) -> str | None:
    """``b``'s marking of ``a``'s level ``native`` in a table's rows (Art. 4), read directly."""
    for row in rows:
        if native in row.markings.get(a, ()):
            texts = row.markings.get(b, ())
            return texts[0] if texts else None
    return None


def compile_grants(reg: Registry) -> list[Grant]:
    """The release rule as data: every (agreement, interval, direction) that allows something."""
    levels = {
        s.party: [(t, lv.native) for lv in s.levels for t in (lv.native, *lv.aliases)]
        for s in reg.schemes.values()
        if s.party is not None
    }
    every_topic = tuple(sorted(reg.topics))
    grants: list[Grant] = []
    for ag in sorted(reg.agreements.values(), key=lambda a: a.id):
        topics = tuple(sorted(ag.topics)) if ag.topics is not None else every_topic
        hub = ag.hub if ag.kind is Kind.HUB else None
        for start, end, v in _spans(reg, ag.id):
            rows = ag.tables[v - 1].rows
            for a in ag.parties:
                for b in ag.parties:
                    if a == b:
                        continue
                    if hub is None or hub in (a, b):  # a direct hop
                        ok = [t for t, nat in levels[a] if _equivalent(rows, a, nat, b)]
                        via = ""
                    else:  # spoke -> hub -> spoke
                        ok = []
                        for t, nat in levels[a]:
                            at_hub = _equivalent(rows, a, nat, hub)
                            if at_hub is not None and _equivalent(rows, hub, at_hub, b):
                                ok.append(t)
                        via = hub
                    if ok:
                        grants.append(
                            Grant(
                                ag.id,
                                a,
                                b,
                                via,
                                tuple(ok),
                                topics,
                                ag.topics is not None,
                                start,
                                end,
                            )
                        )
    return grants


def _party_data(reg: Registry) -> dict[str, dict[str, Any]]:
    return {
        s.party: {
            "scheme": s.id,
            "levels": [t for lv in s.levels for t in (lv.native, *lv.aliases)],
        }
        for s in reg.schemes.values()
        if s.party is not None
    }


# ---------------------------------------------------------------- engines

Call = tuple[Callable[..., Any], tuple[Any, ...]]


@dataclass
class Engine:
    """How one engine answers: the function and its per-input arguments, and how to read it."""

    name: str
    calls: list[Call]
    allowed: Callable[[Any], bool]
    error: Callable[[Any], str | None] = lambda _out: None


def engine_ours(reg: Registry, reqs: list[Request]) -> Engine:
    calls = [(release, (reg, q.label, q.sender, q.recipient, q.topic, q.at)) for q in reqs]
    return Engine("ours", calls, lambda d: bool(d.allowed))


def _cedar_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _cedar_set(values: Sequence[str]) -> str:
    return "[" + ", ".join(_cedar_str(v) for v in values) + "]"


def cedar_policies(reg: Registry, grants: list[Grant]) -> str:
    """The rule in Cedar: label checks as one forbid, one permit per grant."""
    act = 'action == Action::"release", resource == Item::"cmi"'
    out = [
        f"""@id("label")
forbid(principal, {act}) unless {{
  principal has scheme &&
  {_cedar_set(sorted(reg.parties))}.contains(context.recipient) &&
  principal.code != context.recipient &&
  context.originator == principal.code &&
  context.policy_id == principal.scheme &&
  principal.levels.contains(context.classification) &&
  {_cedar_set(sorted(reg.topics))}.contains(context.topic) &&
  (context.label_topics.isEmpty() || context.label_topics.contains(context.topic)) &&
  context.releasable_to.contains(context.recipient)
}};"""
    ]
    for i, g in enumerate(grants):
        cond = [
            f"context.recipient == {_cedar_str(g.recipient)}",
            f"{g.start} <= context.at && context.at < {g.end}",
            f"{_cedar_set(g.levels)}.contains(context.classification)",
        ]
        if g.scoped:
            cond.append(f"{_cedar_set(g.topics)}.contains(context.topic)")
        if g.via:
            cond.append(f"context.releasable_to.contains({_cedar_str(g.via)})")
        body = " &&\n  ".join(cond)
        out.append(
            f'@id("grant{i} {g.agreement} {g.sender}>{g.via + ">" if g.via else ""}{g.recipient}")\n'
            f"permit(principal == Party::{_cedar_str(g.sender)}, {act}) when {{\n  {body}\n}};"
        )
    return "\n\n".join(out) + "\n"


def cedar_entities(reg: Registry) -> list[dict[str, Any]]:
    return [
        {
            "uid": {"type": "Party", "id": party},
            "attrs": {"code": party, "scheme": d["scheme"], "levels": d["levels"]},
            "parents": [],
        }
        for party, d in sorted(_party_data(reg).items())
    ]


def _cedar_request(q: Request) -> dict[str, Any]:
    context = {
        "recipient": q.recipient,
        "originator": q.originator,
        "policy_id": q.policy_id,
        "classification": q.classification,
        "topic": q.topic,
        "releasable_to": list(q.releasable_to),
        "label_topics": list(q.label_topics),
        "at": q.epoch,
    }
    return {
        "principal": {"type": "Party", "id": q.sender},
        "action": {"type": "Action", "id": "release"},
        "resource": {"type": "Item", "id": "cmi"},
        "context": json.dumps(context, ensure_ascii=False),
    }


def _cedar_error(out: Any) -> str | None:
    errors = out.diagnostics.errors
    return "; ".join(map(str, errors)) if errors else None


def engine_cedar(
    reg: Registry, grants: list[Grant], reqs: list[Request], *, parsed: bool
) -> Engine:
    text = cedar_policies(reg, grants)
    entities_json = json.dumps(cedar_entities(reg), ensure_ascii=False)
    policies: Any = cedarpy.PolicySet.from_str(text) if parsed else text
    entities: Any = cedarpy.Entities.from_json_str(entities_json) if parsed else entities_json
    calls = [(cedarpy.is_authorized, (_cedar_request(q), policies, entities)) for q in reqs]
    name = "cedar" if parsed else "cedar (policy text parsed per call)"
    return Engine(name, calls, lambda r: bool(r.allowed), _cedar_error)


CASBIN_MODEL = """[request_definition]
r = sub, rcp, top, at, lbl

[policy_definition]
p = sub, rcp, pol, lvl, top, start, end, via

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.rcp == p.rcp && r.lbl.org == r.sub && r.lbl.pol == p.pol \
&& r.at >= p.start && r.at < p.end && ("|" + r.lbl.lvl + "|") in p.lvl \
&& ("|" + r.top + "|") in p.top && (not r.lbl.tops || r.top in r.lbl.tops) \
&& r.rcp in r.lbl.rel && (p.via == "" || p.via in r.lbl.rel)
"""


def casbin_policy(reg: Registry, grants: list[Grant]) -> str:
    """One ``p`` row per grant: sender, recipient, sender's scheme, levels, topics, bounds, via."""
    scheme = {p: d["scheme"] for p, d in _party_data(reg).items()}
    rows = [
        ", ".join(
            (
                "p",
                g.sender,
                g.recipient,
                scheme[g.sender],
                "|" + "|".join(g.levels) + "|",
                "|" + "|".join(g.topics) + "|",
                f"{g.start:0{_WIDTH}d}",
                f"{g.end:0{_WIDTH}d}",
                g.via,
            )
        )
        for g in grants
    ]
    return "\n".join(rows) + "\n"


def engine_casbin(reg: Registry, grants: list[Grant], reqs: list[Request], workdir: Path) -> Engine:
    model, policy = workdir / "model.conf", workdir / "policy.csv"
    model.write_text(CASBIN_MODEL, encoding="utf-8")
    policy.write_text(casbin_policy(reg, grants), encoding="utf-8")
    enforcer = casbin.Enforcer(str(model), str(policy))
    assert len(enforcer.get_policy()) == len(grants), "Casbin did not load every grant"
    calls = []
    for q in reqs:
        lbl = {
            "org": q.originator,
            "pol": q.policy_id,
            "lvl": q.classification,
            "rel": frozenset(q.releasable_to),
            "tops": frozenset(q.label_topics),
        }
        calls.append(
            (enforcer.enforce, (q.sender, q.recipient, q.topic, f"{q.epoch:0{_WIDTH}d}", lbl))
        )
    return Engine("casbin", calls, bool)


REGO_MODULE = """package gsomia

default allow := false

allow if {
	label_ok
	granted
}

label_ok if {
	sender := data.parties[input.sender]
	data.parties[input.recipient]
	input.sender != input.recipient
	input.originator == input.sender
	input.policy_id == sender.scheme
	sender.levels[input.classification]
	data.topics[input.topic]
	topic_on_label
	input.recipient in input.releasable_to
}

topic_on_label if count(input.label_topics) == 0

topic_on_label if input.topic in input.label_topics

granted if {
	some g in data.grants[input.sender][input.recipient]
	g.start <= input.at
	input.at < g.end
	g.levels[input.classification]
	g.topics[input.topic]
	via_ok(g)
}

via_ok(g) if g.via == ""

via_ok(g) if {
	g.via != ""
	g.via in input.releasable_to
}
"""


def rego_data(reg: Registry, grants: list[Grant]) -> dict[str, Any]:
    table: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for g in grants:
        table.setdefault(g.sender, {}).setdefault(g.recipient, []).append(
            {
                "agreement": g.agreement,
                "via": g.via,
                "start": g.start,
                "end": g.end,
                "levels": dict.fromkeys(g.levels, True),
                "topics": dict.fromkeys(g.topics, True),
            }
        )
    parties = {
        p: {"scheme": d["scheme"], "levels": dict.fromkeys(d["levels"], True)}
        for p, d in _party_data(reg).items()
    }
    return {"parties": parties, "topics": dict.fromkeys(reg.topics, True), "grants": table}


def _rego_input(q: Request) -> dict[str, Any]:
    return {
        "sender": q.sender,
        "recipient": q.recipient,
        "originator": q.originator,
        "policy_id": q.policy_id,
        "classification": q.classification,
        "topic": q.topic,
        "releasable_to": list(q.releasable_to),
        "label_topics": list(q.label_topics),
        "at": q.epoch,
    }


# rego-cpp answers a query whose value is ``false`` with "undefined" (a false expression fails the
# query), so the decision is read from a binding, which is defined either way.
REGO_QUERY = "allow := data.gsomia.allow"


def _rego_allowed(out: Any) -> bool:
    return bool(out.results) and out.results[0].bindings.get("allow") is True


def _rego_error(out: Any) -> str | None:
    if not out.ok() or not out.results or out.results[0].bindings.get("allow") not in (True, False):
        return str(out)
    return None


def engine_rego(reg: Registry, grants: list[Grant], reqs: list[Request], *, bundle: bool) -> Engine:
    rego = Interpreter()
    rego.add_module("gsomia", REGO_MODULE)
    # add_data() serialises with json.dumps' default ensure_ascii=True, and rego-cpp keeps
    # "\\uXXXX" escapes verbatim: 極秘 in data would never equal 極秘 in the input.  Send UTF-8.
    rego.add_data_json(json.dumps(rego_data(reg, grants), ensure_ascii=False))
    inputs = [Input(_rego_input(q)) for q in reqs]
    if bundle:
        compiled = rego.build(REGO_QUERY)

        def decide(inp: Input) -> Any:
            rego.set_input(inp)
            return rego.query_bundle(compiled)

        name = "rego"
    else:

        def decide(inp: Input) -> Any:
            rego.set_input(inp)
            return rego.query(REGO_QUERY)

        name = "rego (query, no bundle)"
    return Engine(name, [(decide, (inp,)) for inp in inputs], _rego_allowed, _rego_error)


# ---------------------------------------------------------------- timing and checking


def run(engine: Engine, passes: int, warmup: bool = True) -> tuple[list[int], list[Any]]:
    """Outputs of the first timed pass, and the time of every decision of every pass (ns)."""
    calls = engine.calls
    if warmup:
        for fn, args in calls:
            fn(*args)
    gc.collect()
    samples: list[int] = []
    first: list[Any] = []
    clock = time.perf_counter_ns
    for p in range(passes):
        for fn, args in calls:
            t0 = clock()
            out = fn(*args)
            samples.append(clock() - t0)
            if p == 0:
                first.append(out)
    return samples, first


def summary(samples_ns: list[int]) -> dict[str, Any]:
    ordered = sorted(samples_ns)

    def pct(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1000, 2)

    mean = sum(ordered) / len(ordered)
    return {
        "p50_us": pct(0.50),
        "p99_us": pct(0.99),
        "mean_us": round(mean / 1000, 2),
        "decisions_per_s": round(1e9 / mean),
        "n": len(ordered),
    }


def check(
    reqs: list[Request], ours: list[Any], peers: dict[str, tuple[Engine, list[Any]]]
) -> list[str]:
    """One line per input on which a peer disagrees with ours or fails to evaluate."""
    problems = []
    for i, q in enumerate(reqs):
        want = bool(ours[i].allowed)
        wrong = []
        for name, (engine, outs) in peers.items():
            err = engine.error(outs[i])
            got = engine.allowed(outs[i])
            if err is not None or got != want:
                wrong.append(
                    f"{name}={'allow' if got else 'deny'}" + (f" (error: {err})" if err else "")
                )
        if wrong:
            codes = ",".join(ours[i].codes)
            problems.append(
                f"#{i} {q.describe()}: ours={'allow' if want else 'deny'} ({codes}); "
                + "; ".join(wrong)
            )
    return problems


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "loadavg_1m_at_start": round(load[0], 2),
        "cedarpy": version("cedarpy"),
        "casbin": version("casbin"),
        "regopy": version("regopy"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--n", type=int, default=600, help="number of inputs (default 600)")
    ap.add_argument("--passes", type=int, default=30, help="timed passes for ours (default 30)")
    ap.add_argument(
        "--peer-passes",
        type=int,
        default=5,
        help="timed passes for each peer, at most --passes (default 5)",
    )
    ap.add_argument("--seed", type=int, default=4774)
    args = ap.parse_args(argv)
    if args.n < 1 or args.passes < 1 or args.peer_passes < 1:
        ap.error("--n, --passes and --peer-passes must be positive")
    info = machine()
    reg = builtin_registry()
    reqs = make_requests(reg, args.n, args.seed)
    grants = compile_grants(reg)
    peer_passes = min(args.passes, args.peer_passes)

    ours_engine = engine_ours(reg, reqs)
    ours_ns, ours_out = run(ours_engine, args.passes)
    with tempfile.TemporaryDirectory(prefix="gsomia-bench-casbin-") as tmp:
        engines = [
            engine_cedar(reg, grants, reqs, parsed=True),
            engine_casbin(reg, grants, reqs, Path(tmp)),
            engine_rego(reg, grants, reqs, bundle=True),
        ]
        timed = {e.name: (e, *run(e, peer_passes)) for e in engines}
    naive = [
        engine_cedar(reg, grants, reqs, parsed=False),
        engine_rego(reg, grants, reqs, bundle=False),
    ]
    naive_timed = {e.name: (e, *run(e, 1)) for e in naive}
    # Cedar's batch call: one call for every input, amortised per decision
    cedar = engines[0]
    batch_reqs = [a[0] for _, a in cedar.calls]
    policies, entities = cedar.calls[0][1][1], cedar.calls[0][1][2]
    batch_runs = []
    for _ in range(3):
        t0 = time.perf_counter_ns()
        batch = cedarpy.is_authorized_batch(batch_reqs, policies, entities)
        batch_runs.append((time.perf_counter_ns() - t0) / 1000 / len(reqs))
    batch_us = sorted(batch_runs)[1]  # the median of three batch calls
    # ours with a fresh registry: the hop memo starts empty (first pass, no warm-up)
    fresh = Registry(reg.schemes, reg.topics, reg.agreements)
    fresh_ns, _ = run(engine_ours(fresh, reqs), 1, warmup=False)

    peers = {name: (e, outs) for name, (e, _, outs) in timed.items()}
    peers.update({name: (e, outs) for name, (e, _, outs) in naive_timed.items()})
    peers["cedar batch"] = (
        Engine("cedar batch", [], lambda r: bool(r.allowed), _cedar_error),
        batch,
    )
    problems = check(reqs, ours_out, peers)

    hub = [i for i, d in enumerate(ours_out) if len(d.path) == 3]
    hub_ns = [ours_ns[p * len(reqs) + i] for p in range(args.passes) for i in hub]
    result: dict[str, Any] = {
        "ours": summary(ours_ns),
        "cedar": summary(timed["cedar"][1]),
        "casbin": summary(timed["casbin"][1]),
        "rego": summary(timed["rego"][1]),
        "agree": not problems,
        "inputs": len(reqs),
        "allowed": sum(bool(d.allowed) for d in ours_out),
        "hub_path": {"p50_us": summary(hub_ns)["p50_us"], "inputs": len(hub)} if hub else None,
        "variants": {
            "cedar_policy_text_per_call": summary(naive_timed[naive[0].name][1]),
            "cedar_batch_us_per_decision": round(batch_us, 2),
            "rego_query_no_bundle": summary(naive_timed[naive[1].name][1]),
            "ours_fresh_registry_first_pass": summary(fresh_ns),
        },
        "grants": len(grants),
        "passes": {"ours": args.passes, "peers": peer_passes},
        "seed": args.seed,
        "method": (
            "peers evaluate the rule compiled from our registry: per agreement the intervals "
            "allowing new exchanges as epoch-second bounds [start, end) derived by our lifecycle, "
            "compared with the request's epoch second in the rule; level equivalence and hub "
            "composition precompiled per interval; label checks evaluated by each engine"
        ),
        "machine": info,
    }
    if problems:
        print(f"DISAGREEMENT on {len(problems)} answers:", file=sys.stderr)
        for line in problems:
            print("  " + line, file=sys.stderr)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_table(result)
    return 0 if not problems else 1


def print_table(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(
        f"policy decision, {r['inputs']} inputs ({r['allowed']} allowed), {r['grants']} grants, "
        f"{m['cpu_count']} CPUs, Python {m['python']}, load {m['loadavg_1m_at_start']}"
    )
    print(f"{'engine':<34}{'p50 µs':>10}{'p99 µs':>10}{'mean µs':>10}{'decisions/s':>13}{'n':>8}")
    rows = [(k, r[k]) for k in ("ours", "cedar", "casbin", "rego")]
    rows += [(k, v) for k, v in r["variants"].items() if isinstance(v, dict)]
    for name, s in rows:
        print(
            f"{name:<34}{s['p50_us']:>10.2f}{s['p99_us']:>10.2f}{s['mean_us']:>10.2f}"
            f"{s['decisions_per_s']:>13,}{s['n']:>8}"
        )
    print(f"{'cedar batch, per decision':<34}{r['variants']['cedar_batch_us_per_decision']:>10.2f}")
    if r["hub_path"]:
        h = r["hub_path"]
        print(f"ours, hub path only (via USA): p50 {h['p50_us']} µs over {h['inputs']} inputs")
    ratio = {k: r[k]["p50_us"] / r["ours"]["p50_us"] for k in ("cedar", "casbin", "rego")}
    print("p50 vs ours: " + ", ".join(f"{k} ×{v:.0f}" for k, v in ratio.items()))
    print(f"all engines agree: {r['agree']}")
    print("method: " + r["method"])


if __name__ == "__main__":
    sys.exit(main())
