"""The demo's scenario as data: the officials of each node and the steps, each on its date.

The dates follow the real history of the ROK–JPN GSOMIA (PRODUCT.md §4): before it, KOR and JPN
share missile information only through the US hub (TISA, in force 29 Dec 2014); from 23 Nov
2016 directly; the agreement stays in force through the 2019 notice and its suspension; normal
annual extension resumes on 21 Mar 2023.  Each step states what the rules require, and the demo
checks that the nodes did exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from gsomia.instants import parse_instant
from gsomia.labels import Category, CategoryType, OriginatorLabel
from gsomia.labels.json_codec import to_dict
from gsomia.labels.model import RELEASABLE_TO, TOPIC
from gsomia.runtime.client import ApiError

if TYPE_CHECKING:
    from gsomia.runtime.demo import Demo

__all__ = ["OFFICIALS", "PARTIES", "STEPS", "Outcome", "Step", "missile_label"]

PARTIES: Final = ("KOR", "JPN", "USA")
MISSILE: Final = "NK-MISSILE"
PURPOSE: Final = "early warning of North Korean missile launches"


def _official(
    oid: str, party: str, clearance: str, duties: tuple[str, ...], *roles: str
) -> dict[str, Any]:
    return {
        "id": oid,
        "nationality": party,
        "clearance": clearance,
        "duties": list(duties),
        "roles": list(roles),
        "in_register": True,
        "rank": "",
        "post": "",
        "active": True,
    }


OFFICIALS: Final[dict[str, list[dict[str, Any]]]] = {
    "KOR": [
        _official("kor-release-1", "KOR", "군사II급비밀", (MISSILE,), "release_officer", "reader"),
        _official("kor-analyst-1", "KOR", "군사II급비밀", (MISSILE,), "reader"),
    ],
    "JPN": [
        _official("jpn-release-1", "JPN", "極秘", (MISSILE,), "release_officer", "reader"),
        _official("jpn-analyst-1", "JPN", "極秘", (MISSILE,), "reader"),
        _official("jpn-analyst-2", "JPN", "極秘", ("MARITIME-SECURITY",), "reader"),
    ],
    "USA": [
        _official("usa-release-1", "USA", "SECRET", (MISSILE,), "release_officer", "reader"),
        _official("usa-analyst-1", "USA", "SECRET", (MISSILE,), "reader"),
    ],
}
RELEASER: Final = {"KOR": "kor-release-1", "JPN": "jpn-release-1", "USA": "usa-release-1"}


@dataclass
class Outcome:
    """What one step did; ``ok`` when the nodes did what the rules require."""

    step: Step
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One act on one date, and what the rules say must come of it."""

    name: str
    at: datetime
    title: str
    expect: str
    play: Callable[[Demo], Outcome]


def missile_label(originator: str, level: str, at: datetime) -> dict[str, Any]:
    """A label of ``originator`` at ``level``, Releasable To KOR, JPN, USA, topic NK-MISSILE."""
    return to_dict(
        OriginatorLabel(
            policy_id=originator,
            classification=level,
            originator=originator,
            created=at,
            categories=(
                Category(RELEASABLE_TO, CategoryType.PERMISSIVE, PARTIES),
                Category(TOPIC, CategoryType.RESTRICTIVE, (MISSILE,)),
            ),
        )
    )


def release(
    name: str,
    sender: str,
    level: str,
    recipients: tuple[str, ...],
    text: str,
    *,
    allowed: bool = True,
    via: tuple[str, ...] = (),
) -> Callable[[Demo], Outcome]:
    """A release by ``sender``'s release officer; ``via`` names hubs that also take custody."""

    def play(demo: Demo) -> Outcome:
        step = next(s for s in STEPS if s.name == name)
        body = {
            "label": missile_label(sender, level, step.at),
            "text": text,
            "topic": MISSILE,
            "purpose": PURPOSE,
            "recipients": list(recipients),
        }
        client = demo.nodes[sender].client(RELEASER[sender])
        try:
            answer = client.json("POST", "/v1/items", body=body)
        except ApiError as err:
            if err.code != "RELEASE_REFUSED":
                raise
            codes = list(err.problem.get("reasons", []))
            demo.say(f"  refused by {sender}'s node: {', '.join(codes)}")
            return Outcome(step, not allowed, {"refused": True, "codes": codes})
        item = answer["item_id"]
        demo.items[name] = item
        for party, decision in sorted(answer.get("decisions", {}).items()):
            demo.say(f"  {sender} → {party}: {' → '.join(decision.get('path', []))} "
                     f"({', '.join(decision.get('codes', []))})")  # fmt: skip
        delivered = demo.wait_delivered(sender, item)
        for hub in via:
            delivered = demo.wait_delivered(hub, item) and delivered
            demo.expected.append((item, hub))
        demo.expected.extend((item, r) for r in recipients)
        demo.say(f"  item {item}: {'delivered and receipted' if delivered else 'NOT delivered'}")
        return Outcome(step, allowed and delivered, {"released": True, "item_id": item})

    return play


def read(
    name: str, of: str, party: str, official: str, *, allowed: bool
) -> Callable[[Demo], Outcome]:
    """``official`` of ``party`` reads the item released in step ``of`` (Art. 7)."""

    def play(demo: Demo) -> Outcome:
        step = next(s for s in STEPS if s.name == name)
        item = demo.items[of]
        try:
            content, _ = demo.nodes[party].client(official).call("GET", f"/v1/items/{item}/content")
        except ApiError as err:
            demo.say(f"  {official} refused: {err.code} {err.problem.get('reasons', '')}")
            return Outcome(step, not allowed, {"read": False, "code": err.code})
        demo.say(f"  {official} reads: {content.decode('utf-8', 'replace')[:60]!r}")
        return Outcome(step, allowed, {"read": True})

    return play


def forward_without_consent(name: str, of: str) -> Callable[[Demo], Outcome]:
    """JPN forwards KOR's item of step ``of`` to USA without asking KOR: refused (Art. 6)."""

    def play(demo: Demo) -> Outcome:
        step = next(s for s in STEPS if s.name == name)
        body = {"third_party": "USA", "purpose": PURPOSE}
        item = demo.items[of]
        try:
            demo.nodes["JPN"].client(RELEASER["JPN"]).json(
                "POST", f"/v1/items/{item}/forward", body=body
            )
        except ApiError as err:
            if err.code != "FORWARD_REFUSED":
                raise
            codes = list(err.problem.get("reasons", []))
            demo.say(f"  refused by JPN's own node: {', '.join(codes)}")
            return Outcome(step, True, {"refused": True, "codes": codes})
        return Outcome(step, False, {"forwarded": True})

    return play


def forward_with_consent(name: str, of: str) -> Callable[[Demo], Outcome]:
    """JPN asks KOR's consent, KOR's security officer grants it, JPN forwards, USA reads."""

    def play(demo: Demo) -> Outcome:
        step = next(s for s in STEPS if s.name == name)
        item = demo.items[of]
        jpn = demo.nodes["JPN"].client(RELEASER["JPN"])
        kor = demo.nodes["KOR"].client()
        asked = jpn.json(
            "POST",
            f"/v1/items/{item}/consent-requests",
            body={"third_party": "USA", "purpose": PURPOSE},
        )
        request_id = asked["request_id"]
        demo.say(f"  JPN asks KOR's written consent (request {request_id})")
        if not demo.until(lambda: _request_state(kor, request_id) is not None):
            return Outcome(step, False, {"error": "the request never reached KOR"})
        kor.json("POST", f"/v1/consent-requests/{request_id}/decision", body={"approve": True})
        demo.say("  KOR's security officer grants it; the signed consent goes back to JPN")
        if not demo.until(lambda: _request_state(jpn, request_id) == "approved"):
            return Outcome(step, False, {"error": "the consent never reached JPN"})
        sent = jpn.json("POST", f"/v1/items/{item}/forward", body={"third_party": "USA",
                                                                   "purpose": PURPOSE})  # fmt: skip
        demo.say(f"  JPN forwards to USA with the consent ({', '.join(sent['decision']['codes'])})")
        delivered = demo.wait_delivered("JPN", item)
        demo.expected.append((item, "USA"))
        content, _ = (
            demo.nodes["USA"].client("usa-analyst-1").call("GET", f"/v1/items/{item}/content")
        )
        demo.say(f"  usa-analyst-1 reads: {content.decode('utf-8', 'replace')[:50]!r}")
        return Outcome(step, delivered, {"forwarded": True, "consent_id": sent["consent_id"]})

    return play


def _request_state(client: Any, request_id: str) -> str | None:
    page = client.json("GET", "/v1/consent-requests", params={"limit": 1000})
    found = [r for r in page["items"] if r["request_id"] == request_id]
    return found[0]["state"] if found else None


def breach(name: str, of: str) -> Callable[[Demo], Outcome]:
    """A JPN analyst reports a possible compromise; KOR's node is told at once (Art. 17)."""

    def play(demo: Demo) -> Outcome:
        step = next(s for s in STEPS if s.name == name)
        item = demo.items[of]
        report = (
            demo.nodes["JPN"]
            .client("jpn-analyst-1")
            .json(
                "POST",
                "/v1/breaches",
                body={
                    "item_id": item,
                    "kind": "possible",
                    "description": "a printout of the report was left in an unsecured room",
                },
            )
        )
        breach_id = report["breach_id"]
        kor = demo.nodes["KOR"].client()

        def notified() -> bool:
            page = kor.json("GET", "/v1/breaches", params={"item_id": item})
            return any(b["breach_id"] == breach_id for b in page["items"])

        ok = demo.until(notified)
        demo.say(
            f"  breach {breach_id} reported by JPN; KOR {'notified' if ok else 'NOT notified'}"
        )
        return Outcome(step, ok, {"breach_id": breach_id, "notified": ok})

    return play


def _at(text: str) -> datetime:
    return parse_instant(text)


STEPS: Final[list[Step]] = [
    Step(
        "tisa-2015",
        _at("2015-06-01T10:00:00+09:00"),
        "Before the ROK–JPN GSOMIA: KOR shares a launch report with JPN through the US hub (TISA)",
        "routed KOR → USA → JPN, re-marked at each step, with KOR's approval",
        release(
            "tisa-2015",
            "KOR",
            "군사II급비밀",
            ("JPN",),
            "2015: SLBM ejection test off Sinpo",
            allowed=True,
            via=("USA",),
        ),
    ),
    Step(
        "direct-2017",
        _at("2017-03-06T09:00:00+09:00"),
        "The GSOMIA in force: KOR releases directly to JPN",
        "allowed directly under kor-jpn-gsomia-2016, marked 極秘 at JPN",
        release(
            "direct-2017",
            "KOR",
            "군사II급비밀",
            ("JPN",),
            "2017-03-06: four ER-SCUDs launched from Tongchang-ri",
        ),
    ),
    Step(
        "notice-2019",
        _at("2019-09-15T09:00:00+09:00"),
        "During ROK's notice of termination (given 2019-08-23)",
        "still allowed: the agreement stays in force until the notice takes effect",
        release(
            "notice-2019",
            "KOR",
            "군사III급비밀",
            ("JPN",),
            "2019-09-10: two short-range ballistic missiles, Kaechon",
        ),
    ),
    Step(
        "suspended-2020",
        _at("2020-03-02T12:00:00+09:00"),
        "While the notice is suspended (since 2019-11-22): JPN releases to KOR",
        "allowed: in force, notice suspended",
        release(
            "suspended-2020",
            "JPN",
            "秘",
            ("KOR",),
            "2020-03-02: two projectiles from Wonsan, impact in the East Sea",
        ),
    ),
    Step(
        "normal-2023",
        _at("2023-04-13T08:00:00+09:00"),
        "After ROK withdrew both 2019 notes (2023-03-21): annual extension again",
        "allowed directly",
        release(
            "normal-2023",
            "KOR",
            "군사II급비밀",
            ("JPN",),
            "2023-04-13: solid-fuel ICBM Hwasong-18 first flight",
        ),
    ),
    Step(
        "top-secret-2026",
        _at("2026-11-23T09:00:00+09:00"),
        "KOR tries to release 군사I급비밀 to JPN",
        "refused: TOP SECRET has no equivalent under Art. 4 of the agreement",
        release(
            "top-secret-2026",
            "KOR",
            "군사I급비밀",
            ("JPN",),
            "2026: launch order of battle",
            allowed=False,
        ),
    ),
    Step(
        "today-2026",
        _at("2026-11-23T09:05:00+09:00"),
        "The tenth anniversary: KOR releases to JPN and USA at once",
        "allowed to both; each adds its own marking beside KOR's",
        release(
            "today-2026",
            "KOR",
            "군사II급비밀",
            ("JPN", "USA"),
            "2026-11-23: IRBM launch toward the Sea of Japan, impact predicted in the EEZ",
        ),
    ),
    Step(
        "read-analyst",
        _at("2026-11-23T09:10:00+09:00"),
        "A JPN analyst cleared 極秘 with missile duties reads it",
        "allowed (Art. 7: duty and clearance)",
        read("read-analyst", "today-2026", "JPN", "jpn-analyst-1", allowed=True),
    ),
    Step(
        "read-no-duty",
        _at("2026-11-23T09:11:00+09:00"),
        "A JPN analyst cleared 極秘 but on maritime duties tries to read it",
        "refused (Art. 7: clearance alone gives no access)",
        read("read-no-duty", "today-2026", "JPN", "jpn-analyst-2", allowed=False),
    ),
    Step(
        "forward-refused",
        _at("2026-11-23T09:20:00+09:00"),
        "JPN tries to pass KOR's 2023 report on to the USA without asking KOR",
        "refused: no prior written consent of the originator (Art. 6)",
        forward_without_consent("forward-refused", "normal-2023"),
    ),
    Step(
        "consent-forward",
        _at("2026-11-23T09:30:00+09:00"),
        "JPN asks KOR's consent, KOR grants it, JPN forwards to the USA",
        "forwarded with KOR's signed consent, verified by the USA node, readable there",
        forward_with_consent("consent-forward", "normal-2023"),
    ),
    Step(
        "breach-report",
        _at("2026-11-23T10:00:00+09:00"),
        "A JPN analyst reports a possible compromise of KOR's 2017 report",
        "KOR's node is notified at once (Art. 17); the investigation is visible to both",
        breach("breach-report", "direct-2017"),
    ),
]
