"""Hub approvals, visits and breaches on the dashboard (issue 6), on in-memory nodes.

Each action is taken through the page's form and checked against what the node recorded (and
what reached the partner); each refusal is the node's (or the form's), audited, with nothing
leaked to an official without entitlement.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from gsomia.api import create_app
from gsomia.audit.records import AuditKind
from gsomia.node.relay import approval_id
from gsomia.ports import BreachStatus, VisitState, token_hash
from tests.unit.api.helpers import token
from tests.unit.node.cluster import (
    JPN_READER,
    JPN_RELEASER,
    JPN_SECURITY,
    KOR_READER,
    KOR_SECURITY,
    NOW,
    RELEASER,
    TISA_ERA,
    Cluster,
    build,
    release_to_japan,
    release_via_hub,
)

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def cluster(start: datetime = NOW) -> Cluster:
    """KOR, JPN and USA with their security officers, and a token for every official."""
    c = build(start=start, custody=True)
    for store in c.stores.values():
        with store.unit_of_work() as uow:
            for o in uow.officials(limit=1000):
                uow.add_token(o.official.id, token_hash(token(o.official.id)), created=start)
    return c


def browser(c: Cluster, party: str, official: str) -> TestClient:
    """A client signed in at ``party``'s dashboard as ``official``."""
    web = TestClient(create_app(c.nodes[party]), follow_redirects=False)
    csrf = CSRF.search(web.get("/web/login").text)
    assert csrf is not None
    answer = web.post("/web/login", data={"csrf": csrf.group(1), "token": token(official)})
    assert answer.status_code == 303, answer.text
    return web


def csrf_of(web: TestClient, path: str) -> str:
    found = CSRF.search(web.get(path).text)
    assert found is not None
    return found.group(1)


def rejects(c: Cluster, party: str, code: str) -> int:
    """How many audit records of ``party`` refuse with ``code``."""
    return sum(1 for r in c.audit(party) if r.decision == "deny" and code in r.reasons)


# -- hub approvals (TISA) ---------------------------------------------------------------------


def test_a_security_officer_withdraws_a_hub_approval_and_the_hub_learns_it() -> None:
    c = cluster(TISA_ERA)
    item = release_via_hub(c).item_id
    c.pump()
    consent_id = approval_id(item, "JPN")
    web = browser(c, "KOR", KOR_SECURITY)
    page = web.get("/web/approvals")
    assert page.status_code == 200
    assert f'data-approval="{consent_id}" data-state="valid"' in page.text
    assert "USA → JPN" in page.text
    assert 'href="/web/approvals"' in page.text
    answer = web.post(f"/web/approvals/{consent_id}/revoke",
                      data={"csrf": csrf_of(web, "/web/approvals")})  # fmt: skip
    assert answer.status_code == 200
    assert "withdrawn" in answer.text
    assert f'data-approval="{consent_id}" data-state="withdrawn"' in answer.text
    c.pump()
    with c.stores["USA"].read() as reader:
        held = reader.consent(consent_id)
    assert held is not None
    assert held.revocation is not None


def test_a_release_officer_sees_approvals_but_may_not_withdraw_them() -> None:
    c = cluster(TISA_ERA)
    item = release_via_hub(c).item_id
    consent_id = approval_id(item, "JPN")
    web = browser(c, "KOR", RELEASER)
    page = web.get("/web/approvals").text
    assert consent_id in page
    assert "Withdraw</button>" not in page
    before = rejects(c, "KOR", "NODE_FORBIDDEN")
    answer = web.post(f"/web/approvals/{consent_id}/revoke",
                      data={"csrf": csrf_of(web, "/web/approvals")})  # fmt: skip
    assert answer.status_code == 403
    assert "NODE_FORBIDDEN" in answer.text
    assert rejects(c, "KOR", "NODE_FORBIDDEN") == before + 1
    with c.stores["KOR"].read() as reader:
        kept = reader.consent(consent_id)
    assert kept is not None
    assert kept.revocation is None


def test_a_reader_sees_no_hub_approval() -> None:
    c = cluster(TISA_ERA)
    item = release_via_hub(c).item_id
    web = browser(c, "KOR", KOR_READER)
    assert "Hub approvals" not in web.get("/web/agreements").text
    page = web.get("/web/approvals")
    assert page.status_code == 403
    assert item not in page.text
    assert any(r.kind is AuditKind.CONSENT and r.subject == "hub-approvals" for r in c.audit("KOR"))


def test_withdrawing_without_the_csrf_token_is_refused_and_audited() -> None:
    c = cluster(TISA_ERA)
    item = release_via_hub(c).item_id
    web = browser(c, "KOR", KOR_SECURITY)
    answer = web.post(f"/web/approvals/{approval_id(item, 'JPN')}/revoke", data={"csrf": "x"})
    assert answer.status_code == 403
    assert "WEB_CSRF_INVALID" in answer.text
    assert rejects(c, "KOR", "WEB_CSRF_INVALID") == 1


# -- visits (Art. 8) --------------------------------------------------------------------------


def visit_form(web: TestClient, **overrides: str) -> dict[str, str]:
    start = NOW + timedelta(days=7)
    form = {"csrf": csrf_of(web, "/web/visits"), "name": "KIM Min-jun", "clearance": "군사II급비밀",
            "post": "J2 analyst", "host": "JPN", "purpose": "missile warning procedures",
            "start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()}  # fmt: skip
    form.update(overrides)
    return form


def test_a_visit_is_requested_and_approved_in_the_pages() -> None:
    c = cluster()
    kor = browser(c, "KOR", KOR_SECURITY)
    asked = kor.post("/web/visits", data=visit_form(kor))
    assert asked.status_code == 200, asked.text
    assert "requested" in asked.text
    (visit,) = c.nodes["KOR"].visits(KOR_SECURITY)
    assert 'id="approve-' not in asked.text  # KOR is not the host
    c.pump()
    jpn = browser(c, "JPN", JPN_SECURITY)
    page = jpn.get("/web/visits").text
    assert f'id="approve-{visit.visit_id}"' in page
    assert "KIM Min-jun" in page
    done = jpn.post(f"/web/visits/{visit.visit_id}/decision",
                    data={"csrf": csrf_of(jpn, "/web/visits"), "decision": "approve",
                          "level": "極秘", "note": "escorted"})  # fmt: skip
    assert done.status_code == 200, done.text
    assert "approved up to 極秘" in done.text
    assert f'id="approve-{visit.visit_id}"' not in done.text
    c.pump()
    (back,) = c.nodes["KOR"].visits(KOR_SECURITY)
    assert back.state is VisitState.APPROVED
    assert back.level == "極秘"
    assert 'data-state="approved"' in kor.get("/web/visits").text


def test_a_visit_is_denied_and_a_decided_visit_stays_decided() -> None:
    c = cluster()
    kor = browser(c, "KOR", KOR_SECURITY)
    kor.post("/web/visits", data=visit_form(kor))
    (visit,) = c.nodes["KOR"].visits(KOR_SECURITY)
    c.pump()
    jpn = browser(c, "JPN", JPN_SECURITY)
    form = {"csrf": csrf_of(jpn, "/web/visits"), "decision": "deny", "note": "no escort"}
    assert "denied" in jpn.post(f"/web/visits/{visit.visit_id}/decision", data=form).text
    again = jpn.post(f"/web/visits/{visit.visit_id}/decision",
                     data={**form, "decision": "approve", "level": "極秘"})  # fmt: skip
    assert again.status_code == 409
    assert "NODE_VISIT_DECIDED" in again.text
    assert c.nodes["JPN"].visits(JPN_SECURITY)[0].state is VisitState.DENIED


def test_only_the_hosts_security_officer_decides_a_visit() -> None:
    c = cluster()
    kor = browser(c, "KOR", KOR_SECURITY)
    kor.post("/web/visits", data=visit_form(kor))
    (visit,) = c.nodes["KOR"].visits(KOR_SECURITY)
    form = {"csrf": csrf_of(kor, "/web/visits"), "decision": "approve", "level": "군사II급비밀"}
    answer = kor.post(f"/web/visits/{visit.visit_id}/decision", data=form)
    assert answer.status_code == 403
    assert "NODE_NOT_HOST" in answer.text
    c.pump()
    reader = browser(c, "JPN", JPN_READER)
    assert "Visits" not in reader.get("/web/agreements").text
    page = reader.get("/web/visits")
    assert page.status_code == 403
    assert "KIM Min-jun" not in page.text
    refused = reader.post(f"/web/visits/{visit.visit_id}/decision",
                          data={"csrf": csrf_of(reader, "/web/agreements"),
                                "decision": "approve", "level": "極秘"})  # fmt: skip
    assert refused.status_code == 403
    assert c.nodes["JPN"].visits(JPN_SECURITY)[0].state is VisitState.REQUESTED


def test_a_level_beyond_what_may_be_disclosed_is_refused_by_the_core() -> None:
    c = cluster()
    kor = browser(c, "KOR", KOR_SECURITY)
    kor.post("/web/visits", data=visit_form(kor, clearance="군사III급비밀"))
    (visit,) = c.nodes["KOR"].visits(KOR_SECURITY)
    c.pump()
    jpn = browser(c, "JPN", JPN_SECURITY)
    answer = jpn.post(f"/web/visits/{visit.visit_id}/decision",
                      data={"csrf": csrf_of(jpn, "/web/visits"), "decision": "approve",
                            "level": "機密"})  # fmt: skip
    assert answer.status_code == 403
    assert "NODE_POLICY_DENIED" in answer.text
    assert c.nodes["JPN"].visits(JPN_SECURITY)[0].state is VisitState.REQUESTED


def test_an_ill_formed_visit_form_is_refused_audited_and_stores_nothing() -> None:
    c = cluster()
    kor = browser(c, "KOR", KOR_SECURITY)
    answer = kor.post("/web/visits", data=visit_form(kor, start="next tuesday"))
    assert answer.status_code == 400
    assert "WEB_FORM_INVALID" in answer.text
    assert rejects(c, "KOR", "WEB_FORM_INVALID") == 1
    bad = kor.post("/web/visits/x/decision",
                   data={"csrf": csrf_of(kor, "/web/visits"), "decision": "maybe"})  # fmt: skip
    assert bad.status_code == 400
    assert rejects(c, "KOR", "WEB_FORM_INVALID") == 2
    assert c.nodes["KOR"].visits(KOR_SECURITY) == []


# -- breaches (Art. 17) -----------------------------------------------------------------------


def test_a_breach_is_reported_investigated_and_closed_in_the_pages() -> None:
    c = cluster()
    item = release_to_japan(c).item_id
    c.pump()
    jpn = browser(c, "JPN", JPN_SECURITY)
    reported = jpn.post("/web/breaches", data={"csrf": csrf_of(jpn, "/web/breaches"),
                        "item_id": item, "kind": "possible",
                        "description": "laptop left unattended"})  # fmt: skip
    assert reported.status_code == 200, reported.text
    assert "the originator KOR is notified" in reported.text
    (breach,) = c.nodes["JPN"].breaches(JPN_SECURITY)
    assert f'id="save-{breach.breach_id}"' in reported.text
    form = {"csrf": csrf_of(jpn, "/web/breaches"), "status": "investigating",
            "investigation": "interviews under way", "results": "", "measures": ""}  # fmt: skip
    updated = jpn.post(f"/web/breaches/{breach.breach_id}", data=form)
    assert updated.status_code == 200, updated.text
    assert "now investigating (version 2, sent to KOR)" in updated.text
    c.pump()
    kor = browser(c, "KOR", KOR_SECURITY)
    page = kor.get("/web/breaches").text
    assert "interviews under way" in page
    assert f'id="save-{breach.breach_id}"' not in page  # JPN reported it: JPN investigates
    denied = kor.post(f"/web/breaches/{breach.breach_id}",
                      data={**form, "csrf": csrf_of(kor, "/web/breaches")})  # fmt: skip
    assert denied.status_code == 403
    assert "NODE_NOT_REPORTER" in denied.text
    closed = jpn.post(f"/web/breaches/{breach.breach_id}",
                      data={**form, "csrf": csrf_of(jpn, "/web/breaches"), "status": "closed",
                            "results": "no compromise", "measures": "clear-desk checks"})  # fmt: skip
    assert closed.status_code == 200
    assert f'id="save-{breach.breach_id}"' not in closed.text
    assert "clear-desk checks" in closed.text
    final = c.nodes["JPN"].breaches(JPN_SECURITY)[0]
    assert final.status is BreachStatus.CLOSED
    assert (final.investigation, final.results) == ("interviews under way", "no compromise")
    again = jpn.post(f"/web/breaches/{breach.breach_id}",
                     data={**form, "csrf": csrf_of(jpn, "/web/breaches")})  # fmt: skip
    assert again.status_code == 409
    assert "NODE_BREACH_CLOSED" in again.text


def test_breaches_are_for_security_officers_only() -> None:
    c = cluster()
    item = release_to_japan(c).item_id
    c.pump()
    c.nodes["JPN"].report_breach(JPN_READER, item, "actual", "printed copy missing")
    for official in (JPN_READER, JPN_RELEASER):
        web = browser(c, "JPN", official)
        assert 'href="/web/breaches"' not in web.get("/web/agreements").text
        page = web.get("/web/breaches")
        assert page.status_code == 403
        assert "printed copy missing" not in page.text
        assert item not in page.text
    (breach,) = c.nodes["JPN"].breaches(JPN_SECURITY)
    web = browser(c, "JPN", JPN_READER)
    answer = web.post(f"/web/breaches/{breach.breach_id}",
                      data={"csrf": csrf_of(web, "/web/agreements"), "status": "closed"})  # fmt: skip
    assert answer.status_code == 403
    assert c.nodes["JPN"].breaches(JPN_SECURITY)[0].version == 1


def test_a_bad_breach_update_changes_nothing() -> None:
    c = cluster()
    item = release_to_japan(c).item_id
    c.pump()
    c.nodes["JPN"].report_breach(JPN_SECURITY, item, "possible", "door left open")
    (breach,) = c.nodes["JPN"].breaches(JPN_SECURITY)
    jpn = browser(c, "JPN", JPN_SECURITY)
    answer = jpn.post(f"/web/breaches/{breach.breach_id}",
                      data={"csrf": csrf_of(jpn, "/web/breaches"), "status": "forgotten"})  # fmt: skip
    assert answer.status_code == 400
    assert c.nodes["JPN"].breaches(JPN_SECURITY)[0] == breach
    unknown = jpn.post("/web/breaches", data={"csrf": csrf_of(jpn, "/web/breaches"),
                       "item_id": "no-such-item", "kind": "actual", "description": "x"})  # fmt: skip
    assert unknown.status_code == 404
    assert len(c.nodes["JPN"].breaches(JPN_SECURITY)) == 1


def test_any_official_who_sees_an_item_reports_a_breach_from_its_page() -> None:
    c = cluster()
    item = release_to_japan(c).item_id
    c.pump()
    web = browser(c, "JPN", JPN_READER)
    page = web.get(f"/web/items/{item}")
    assert 'id="report-breach"' in page.text
    answer = web.post("/web/breaches", data={"csrf": csrf_of(web, f"/web/items/{item}"),
                      "item_id": item, "kind": "actual", "back": "item",
                      "description": "copy photographed"})  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/web/items/{item}?breach=")
    shown = web.get(answer.headers["location"]).text
    assert 'id="breach-reported"' in shown
    assert "the originator KOR is notified" in shown
    (breach,) = c.nodes["JPN"].breaches(JPN_SECURITY)
    assert (breach.reported_by, breach.description) == (JPN_READER, "copy photographed")
    c.pump()
    assert [b.breach_id for b in c.nodes["KOR"].breaches(KOR_SECURITY)] == [breach.breach_id]
