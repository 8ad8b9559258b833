"""The dashboard in a real browser, against real KOR and JPN node processes (issue 6)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.scenario import missile_label
from tests.browser.conftest import shot, sign_in
from tests.browser.test_accessibility import LOW_CONTRAST, UNLABELLED

pytestmark = pytest.mark.integration

AGREEMENT = "kor-jpn-gsomia-2016"
PURPOSE = "early warning of North Korean missile launches"


def release(cluster: LocalCluster, text: str) -> str:
    """KOR's release officer releases an item to JPN through the API; its id, once receipted."""
    body = {"label": missile_label("KOR", "군사II급비밀", datetime.now(UTC)), "text": text,
            "topic": "NK-MISSILE", "purpose": PURPOSE, "recipients": ["JPN"]}  # fmt: skip
    answer = cluster.nodes["KOR"].client("kor-release-1").json("POST", "/v1/items", body=body)
    assert answer["released"], answer
    assert cluster.wait_settled("KOR", answer["item_id"], timeout=30)
    return str(answer["item_id"])


def until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_sign_in_and_the_state_as_of_several_instants(nodes: LocalCluster, page: Any) -> None:
    sign_in(page, nodes, "KOR", "officer")
    assert page.url.endswith("/web/agreements")
    assert page.locator("#agreements").get_by_text(AGREEMENT).count() == 1
    page.get_by_role("link", name=AGREEMENT).click()
    page.wait_for_selector("#timeline-svg")
    assert page.locator("#timeline-svg .state-band-notice_suspended").count() >= 1
    assert page.locator("#next-renewal").inner_text().startswith("in ")
    for at, state, allowed in (
        ("2019-11-22T20:00+09:00", "notice_suspended", "yes"),
        ("2020-06-01T12:00+09:00", "notice_suspended", "yes"),
        ("2019-10-01T12:00+09:00", "notice_given", "yes"),
        ("2015-06-01T12:00+09:00", "not_in_force", "yes"),
        ("2023-06-01T12:00+09:00", "in_force", "yes"),
    ):
        page.get_by_label("As of (RFC 3339 instant with offset)").fill(at)
        page.get_by_role("button", name="Show").click()
        page.wait_for_load_state()
        assert page.locator("#state-then [data-state]").first.get_attribute("data-state") == state
        decision = page.locator('#decisions tr[data-recipient="JPN"]')
        assert decision.get_attribute("data-allowed") == allowed, at
        if at.startswith("2019-11-22"):
            shot(page, "agreement-2019-11-22-suspended")
    # 2015: no ROK–JPN GSOMIA yet, so a release to JPN goes through the US hub (TISA)
    page.goto(page.url.split("?")[0] + "?at=2015-06-01T12:00%2B09:00")
    assert page.locator("#state-then [data-state]").first.get_attribute("data-state") == (
        "not_in_force"
    )
    assert "KOR → USA → JPN" in page.locator('#decisions tr[data-recipient="JPN"]').inner_text()
    shot(page, "agreement-2015")


def test_a_release_at_kor_arrives_on_jpn_with_both_markings(nodes: LocalCluster, page: Any) -> None:
    item = release(nodes, "북한 탄도미사일 발사: 동해상 낙하 예측")
    sign_in(page, nodes, "JPN", "jpn-analyst-1", then="/web/exchanges")
    row = page.locator(f'#items tr[data-item="{item}"]')
    row.wait_for()
    assert "군사II급비밀" in row.locator(".marking-originator").inner_text()
    assert "極秘" in row.locator(".marking-ours").inner_text()
    assert row.locator('.marking-originator [lang="ko"]').count() == 1
    assert row.locator('.marking-ours [lang="ja"]').count() == 1
    fonts = page.evaluate(
        """async () => { await document.fonts.ready;
           return [document.fonts.check('16px "Noto Sans KR"', '군사II급비밀'),
                   document.fonts.check('16px "Noto Sans JP"', '極秘')]; }"""
    )
    assert fonts == [True, True]
    shot(page, "exchanges-jpn")
    row.get_by_role("link").click()
    page.get_by_role("button", name="Read the content (audited)").click()
    assert "북한 탄도미사일 발사" in page.locator("#content-text").inner_text()
    shot(page, "item-jpn-read")


def test_an_official_without_duty_sees_no_content_nor_labels(nodes: LocalCluster, page: Any
                                                             ) -> None:  # fmt: skip
    item = release(nodes, "not for the maritime desk")
    sign_in(page, nodes, "JPN", "jpn-analyst-2", then="/web/exchanges")
    table = page.locator("#items").inner_text()
    assert item[:8] not in table
    assert "極秘" not in table
    assert "군사II급비밀" not in table
    page.goto(f"{nodes.nodes['JPN'].api_url}/web/items/{item}")
    body = page.locator("main").inner_text()
    assert "NODE_ITEM_NOT_FOUND" in body
    assert "極秘" not in body
    assert "군사II급비밀" not in body
    assert "NK-MISSILE" not in body
    shot(page, "item-no-duty")


def test_a_consent_request_is_decided_in_the_ui(nodes: LocalCluster, page: Any) -> None:
    item = release(nodes, "to be shared with the USA")
    jpn = nodes.nodes["JPN"].client("jpn-release-1")
    asked = jpn.json("POST", f"/v1/items/{item}/consent-requests",
                     body={"third_party": "USA", "purpose": "joint assessment"})  # fmt: skip
    request_id = asked["request_id"]
    kor = nodes.nodes["KOR"].client()
    until(lambda: any(r["request_id"] == request_id for r in kor.json(
        "GET", "/v1/consent-requests", params={"direction": "received"})["items"]))  # fmt: skip
    sign_in(page, nodes, "KOR", "officer", then="/web/consent")
    row = page.locator(f'#consent-requests tr[data-request="{request_id}"]')
    row.get_by_label("Conditions (one per line)").fill("no further release")
    row.get_by_role("button", name="Approve").click()
    page.wait_for_selector("#consent-message")
    assert "approved" in page.locator("#consent-message").inner_text()
    row = page.locator(f'#consent-requests tr[data-request="{request_id}"]')
    assert row.locator(".request-state").inner_text() == "approved"
    shot(page, "consent-decided")
    until(lambda: jpn.json("GET", "/v1/consent-requests",
                           params={"direction": "sent", "state": "approved"})["items"])  # fmt: skip


def test_a_simulated_launch_draws_a_track_and_an_impact_ellipse(nodes: LocalCluster, page: Any
                                                                ) -> None:  # fmt: skip
    sign_in(page, nodes, "KOR", "kor-watch-1", then="/web/live")
    page.wait_for_selector('#map[data-connected="yes"]')
    page.wait_for_selector('#map[data-land="drawn"]')
    assert page.locator("#map-land path.map-land").count() >= 4  # KOR, PRK, JPN, CHN, RUS
    started = nodes.nodes["KOR"].client("kor-sensor-1").json(
        "POST", "/v1/tracks/simulate",
        body={"area": "sunan", "missile_class": "MRBM", "speed": 90, "rate_hz": 0.5, "seed": 7},
    )  # fmt: skip
    assert started["messages"] > 10
    page.wait_for_selector("#map-tracks .impact-ellipse", timeout=20_000)
    page.wait_for_selector("#map-tracks .track-path")
    assert page.locator("#map-tracks .launch-point").count() >= 1
    rows = page.locator("#track-list tbody tr[data-track]")
    assert rows.count() >= 1
    assert "군사II급비밀" in page.locator("#track-list").inner_text()
    until(lambda: page.locator('#track-list tbody tr[data-track^="JPN-"]').count() >= 1, 20)
    assert "極秘" in page.locator("#track-list").inner_text()
    page.locator("#track-list tbody tr", has_text="ended").first.wait_for(timeout=20_000)
    shot(page, "live-map")


def test_the_security_officer_may_simulate_but_sees_no_track(nodes: LocalCluster, page: Any
                                                             ) -> None:  # fmt: skip
    sign_in(page, nodes, "KOR", "officer", then="/web/live")
    page.wait_for_selector('#map[data-connected="yes"]')
    assert page.locator("#not-reader").count() == 1
    page.get_by_label("Speed (× real time)").fill("600")
    page.get_by_role("button", name="Simulate").click()
    page.locator("#live-status", has_text="Simulation started").wait_for()
    time.sleep(1.0)
    assert page.locator("#map-tracks .track").count() == 0


def test_verify_now_shows_progress_and_result(nodes: LocalCluster, page: Any) -> None:
    sign_in(page, nodes, "JPN", "officer", then="/web/audit")
    assert int(page.locator("#audit-size").inner_text()) > 0
    page.get_by_role("button", name="Verify now").click()
    page.wait_for_selector('#verify[data-state="ok"]')
    assert page.locator("#verify-status").inner_text().startswith("Verified")
    shot(page, "audit-verified")


def test_verify_now_rehashes_the_log_and_checks_the_partners(nodes: LocalCluster, page: Any
                                                           ) -> None:  # fmt: skip
    release(nodes, "검증 대상 (to be verified)")
    sign_in(page, nodes, "KOR", "kor-analyst-1", then="/web/audit")
    assert (
        page.locator('#partner-checkpoints tr[data-partner="JPN"]').get_attribute("data-consistent")
        == "yes"
    )
    page.get_by_role("button", name="Verify now").click()
    page.wait_for_selector('#verify[data-state="ok"]')
    status = page.locator("#verify-status").inner_text()
    assert status.startswith("Verified: all ")
    assert "entries re-hashed" in status
    bar = page.locator("#verify-progress")
    assert bar.get_attribute("value") == bar.get_attribute("max")
    assert int(bar.get_attribute("max") or 0) > 0
    assert "consistent" in page.locator('#verify-partners li[data-partner="JPN"]').inner_text()
    shot(page, "audit-full-verified")
    page.reload()
    assert page.locator("#last-verification").inner_text().startswith("Verified at ")


def test_a_visit_is_requested_and_decided_in_the_pages(nodes: LocalCluster, page: Any) -> None:
    start = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    sign_in(page, nodes, "KOR", "officer", then="/web/visits")
    page.get_by_label("Name").fill("KIM Min-jun")
    page.get_by_label("Clearance").select_option("군사II급비밀")
    page.get_by_label("Post").fill("J2 analyst")
    page.get_by_label("Host").select_option("JPN")
    page.get_by_label("Official purpose").fill("missile warning data exchange procedures")
    page.get_by_label("Start (RFC 3339 instant with offset)").fill(start.isoformat())
    page.get_by_label("End (RFC 3339 instant with offset)").fill(
        (start + timedelta(days=2)).isoformat()
    )
    page.get_by_role("button", name="Request the visit").click()
    message = page.locator("#visits-message").inner_text()
    found = re.search(r"Visit (\S+) requested", message)
    assert found is not None, message
    visit = found.group(1)
    jpn = nodes.nodes["JPN"].client()
    until(lambda: any(v["visit_id"] == visit for v in jpn.json("GET", "/v1/visits")["items"]))
    page.context.clear_cookies()
    sign_in(page, nodes, "JPN", "officer", then="/web/visits")
    row = page.locator(f'#visits tr[data-visit="{visit}"]')
    assert row.get_attribute("data-state") == "requested"
    row.get_by_label("Highest level that may be disclosed").select_option("極秘")
    row.get_by_label("Note").fill("escorted at all times")
    row.get_by_role("button", name="Approve").click()
    assert "approved up to 極秘" in page.locator("#visits-message").inner_text()
    row = page.locator(f'#visits tr[data-visit="{visit}"]')
    assert row.get_attribute("data-state") == "approved"
    assert row.get_by_role("button", name="Approve").count() == 0
    shot(page, "visit-decided")
    kor = nodes.nodes["KOR"].client()
    until(lambda: any(v["visit_id"] == visit and v["state"] == "approved"
                      for v in kor.json("GET", "/v1/visits")["items"]))  # fmt: skip


def test_a_breach_is_reported_from_the_item_and_investigated(nodes: LocalCluster, page: Any
                                                            ) -> None:  # fmt: skip
    item = release(nodes, "분실 신고 대상 (to be reported lost)")
    sign_in(page, nodes, "JPN", "jpn-analyst-1", then=f"/web/items/{item}")
    page.get_by_label("Kind").select_option("possible")
    page.get_by_label("What happened").fill("printed copy not found in the safe")
    page.get_by_role("button", name="Report").click()
    assert "the originator KOR is notified" in page.locator("#breach-reported").inner_text()
    page.context.clear_cookies()
    sign_in(page, nodes, "JPN", "officer", then="/web/breaches")
    row = page.locator("#breaches tr[data-breach]", has_text="printed copy not found").first
    assert row.get_attribute("data-status") == "reported"
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(LOW_CONTRAST) == []
    row.get_by_label("Investigation").fill("safe log and interviews")
    row.get_by_label("New status").select_option("investigating")
    row.get_by_role("button", name="Record").click()
    assert "now investigating" in page.locator("#breach-message").inner_text()
    row = page.locator("#breaches tr[data-breach]", has_text="printed copy not found").first
    assert row.get_attribute("data-status") == "investigating"
    shot(page, "breach-investigating")
    kor = nodes.nodes["KOR"].client()
    until(lambda: any(b["status"] == "investigating" and b["investigation"] ==
                      "safe log and interviews" for b in kor.json("GET", "/v1/breaches")["items"]))  # fmt: skip


def test_keyboard_reaches_the_main_controls(nodes: LocalCluster, page: Any) -> None:
    sign_in(page, nodes, "KOR", "officer", then=f"/web/agreements/{AGREEMENT}")
    page.keyboard.press("Tab")
    first = page.evaluate("document.activeElement.textContent.trim()")
    assert first == "Skip to content"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    reached = []
    for _ in range(30):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        )
        if reached[-1] == "asof-submit":
            break
    assert {"at", "level", "topic", "asof-submit"} <= set(reached), reached
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "topic"
    # from the top: the navigation is reachable too
    page.goto(page.url.split("#")[0])
    names = []
    for _ in range(10):
        page.keyboard.press("Tab")
        names.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert {"Sign out", "Agreements", "Exchanges", "Audit", "Live missile warning"} <= set(names)
    shot(page, "keyboard-focus")
