"""The trilateral demo (issue 4 §3): KOR, JPN and USA nodes replay the ROK–JPN history.

:class:`Demo` creates three nodes in a working directory (:mod:`gsomia.runtime.setup`), has
them trust each other's keys, starts each as its own ``gsomia node serve`` process on loopback
(SQLite, HTTP channel, REST API), enrols officials through the API, then plays
:data:`gsomia.runtime.scenario.STEPS`: releases attempted on the key dates of the agreement's
life, reads under Art. 7, a consent-based forward and a refused one, a breach report.  Every act
goes through the nodes' REST API, exactly as an integrator's would.

Time: the nodes read a *scenario clock* (:class:`gsomia.adapters.clock.ScenarioClock`), a file
the demo moves to each step's date; time flows on from there.  Keys are created valid from
before the first step.  Nothing else is simulated: the nodes decide, seal, send, verify, store
and audit for real.

At the end, :meth:`Demo.verify` checks the invariants over the nodes' stores (serving or stopped):
every delivery expected arrived exactly once (``lost``, ``duplicated``), every receipt came
back, and each node's audit log verifies (RFC 9162 roots recomputed from the entries).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from gsomia.adapters.clock import set_scenario_instant
from gsomia.errors import GsomiaError
from gsomia.instants import parse_instant
from gsomia.runtime.client import ApiError
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.scenario import OFFICIALS, PARTIES, STEPS, Outcome

__all__ = ["Demo", "DemoError"]

MARKER: Final = ".gsomia-demo"
KST: Final = ZoneInfo("Asia/Seoul")
KEYS_FROM: Final = parse_instant("2014-12-01T00:00:00+09:00")
_READY_TIMEOUT: Final = 60.0
_DELIVERY_TIMEOUT: Final = 60.0


class DemoError(GsomiaError):
    """The demo could not run, or one of its invariants failed."""

    code = "DEMO_FAILED"
    exit_code = 9
    title = "Demo failed"


class Demo:
    """Three nodes in ``workdir``; ``say`` receives a line per event for people to read."""

    def __init__(self, workdir: Path, say: Callable[[str], None] = lambda _: None) -> None:
        self.workdir = Path(workdir)
        self.say = say
        self.cluster = LocalCluster(
            self.workdir, PARTIES, clock_file=self.workdir / "scenario-clock", say=say
        )
        self.nodes = self.cluster.nodes
        self.outcomes: list[Outcome] = []
        self.items: dict[str, str] = {}  # step name -> item id
        self.expected: list[tuple[str, str]] = []  # (item id, party that must accept it)

    def setup(self) -> None:
        """Create, connect and start the three nodes, and enrol their officials."""
        if self.workdir.exists():
            if not (self.workdir / MARKER).exists():
                raise DemoError(
                    f"{self.workdir} exists and is not a demo directory; choose another --dir"
                )
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(mode=0o700, parents=True)
        (self.workdir / MARKER).write_text("made by gsomia demo\n", encoding="utf-8")
        self.cluster.create(KEYS_FROM)
        self.cluster.start()
        self.cluster.enrol(OFFICIALS)

    # ------------------------------------------------------------------------------ scenario

    def run(self, progress: Callable[[int, int], None] = lambda _d, _t: None) -> list[Outcome]:
        """Play every step of the scenario in order."""
        for done, step in enumerate(STEPS):
            assert self.cluster.clock_file is not None
            set_scenario_instant(self.cluster.clock_file, step.at)
            self.say(f"\n{step.at.astimezone(KST).date()}  {step.title}")
            try:
                outcome = step.play(self)
            except ApiError as err:
                outcome = Outcome(step, False, {"error": err.code, "message": err.message})
            self.outcomes.append(outcome)
            mark = "ok" if outcome.ok else "UNEXPECTED"
            self.say(f"  → {mark}: {step.expect}")
            progress(done + 1, len(STEPS))
        return self.outcomes

    def wait_delivered(self, sender: str, item_id: str) -> bool:
        """Wait until every delivery of ``item_id`` from ``sender`` is receipted."""
        return self.cluster.wait_settled(sender, item_id)

    def until(self, condition: Callable[[], bool], timeout: float = 60.0) -> bool:
        """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop every node process."""
        self.cluster.stop()

    def verify(self) -> dict[str, Any]:
        """Check the invariants over the nodes' stores (serving or stopped); the summary."""
        tallies = {party: self.cluster.tally(party) for party in self.nodes}
        accepted = {party: t.accepted for party, t in tallies.items()}
        receipts = sum(t.receipts for t in tallies.values())
        audit_ok = {party: t.audit_ok for party, t in tallies.items()}
        lost = sum(1 for item, party in self.expected if accepted[party][item] == 0)
        duplicated = sum(n - 1 for c in accepted.values() for n in c.values() if n > 1)
        refused = [
            {"step": o.step.name, "codes": o.detail.get("codes", [])}
            for o in self.outcomes
            if o.detail.get("refused")
        ]
        released = sum(1 for o in self.outcomes if o.detail.get("released"))
        summary = {
            "released": released,
            "delivered": len(self.expected) - lost,
            "receipts": receipts,
            "refused": refused,
            "lost": lost,
            "duplicated": duplicated,
            "audit_verified": audit_ok,
            "steps": [
                {"step": o.step.name, "at": o.step.at.isoformat(), "ok": o.ok, **o.detail}
                for o in self.outcomes
            ],
        }
        summary["ok"] = (
            lost == 0
            and duplicated == 0
            and all(audit_ok.values())
            and all(o.ok for o in self.outcomes)
        )
        return summary
