"""The dashboard face on in-memory nodes (issue 6): sign-in, sessions, CSRF, Art. 7, tracks, audit.

Fast checks of what the browser tests (tests/browser) exercise on real node processes.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from gsomia.api import create_app
from gsomia.tracks.simulate import KOR_SENSOR, Scenario, simulate
from gsomia.web import TrackBuffer
from gsomia.web.live import TrackLens
from gsomia.web.pages_audit import Jobs, checkpoint_check
from gsomia.web.sessions import SessionStore
from tests.unit.api.helpers import JPN_NO_DUTY, JPN_READER, KOR_SO, RELEASER, auth, bench, token
from tests.unit.api.helpers import release_body as body_of
from tests.unit.node.cluster import NOW

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def client(party: str = "KOR") -> tuple[TestClient, object]:
    b = bench()
    node = b.cluster.nodes[party]
    return TestClient(create_app(node), follow_redirects=False), b


def sign_in(c: TestClient, official: str) -> str:
    page = c.get("/web/login")
    csrf = CSRF.search(page.text)
    assert csrf is not None
    answer = c.post("/web/login", data={"csrf": csrf.group(1), "token": token(official),
                                        "next": "/web/agreements"})  # fmt: skip
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def csrf_of(c: TestClient, path: str) -> str:
    found = CSRF.search(c.get(path).text)
    assert found is not None
    return found.group(1)


def test_root_and_pages_need_a_session() -> None:
    c, _ = client()
    assert c.get("/").headers["location"] == "/web/"
    for path in ("/web/", "/web/agreements", "/web/exchanges", "/web/live", "/web/audit"):
        answer = c.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/web/login?next=")


def test_sign_in_sets_a_strict_httponly_cookie_and_never_shows_the_token() -> None:
    c, _ = client()
    c.get("/web/login")
    assert sign_in(c, KOR_SO) == "/web/agreements"
    cookie = c.cookies.get("gsomia_session")
    assert cookie
    page = c.get("/web/agreements")
    assert page.status_code == 200
    assert token(KOR_SO) not in page.text
    assert "content-security-policy" in page.headers
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_login_cookie_flags() -> None:
    c, _ = client()
    answer = c.get("/web/login")
    flags = answer.headers["set-cookie"].lower()
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "path=/" in flags
    assert "secure" not in flags  # plain http on loopback; over https: Secure and __Host-


def test_wrong_token_and_missing_csrf_are_refused() -> None:
    c, _ = client()
    csrf = csrf_of(c, "/web/login")
    assert c.post("/web/login", data={"csrf": csrf, "token": "nope"}).status_code == 401
    assert c.post("/web/login", data={"csrf": "forged", "token": token(KOR_SO)}).status_code == 403


def test_open_redirects_are_refused() -> None:
    c, _ = client()
    csrf = csrf_of(c, "/web/login")
    answer = c.post("/web/login", data={"csrf": csrf, "token": token(KOR_SO),
                                        "next": "//evil.example/web/x"})  # fmt: skip
    assert answer.headers["location"] == "/web/agreements"


def test_as_of_shows_the_state_at_that_instant() -> None:
    c, _ = client()
    sign_in(c, KOR_SO)
    for at, state in (
        ("2019-11-22T20:00+09:00", "notice_suspended"),
        ("2020-06-01T00:00+09:00", "notice_suspended"),
        ("2015-06-01T00:00+09:00", "not_in_force"),
        ("2018-06-01T00:00+09:00", "in_force"),
    ):
        page = c.get("/web/agreements/kor-jpn-gsomia-2016", params={"at": at})
        assert page.status_code == 200
        then = page.text.split('id="state-then"', 1)[1]
        assert f'data-state="{state}"' in then.split("</div>", 1)[0], at
    bad = c.get("/web/agreements/kor-jpn-gsomia-2016", params={"at": "2019-11-22"})
    assert bad.status_code == 400
    assert "INSTANT" not in bad.text or "offset" in bad.text
    assert c.get("/web/agreements/nope").status_code == 404


def test_timeline_svg_is_drawn_on_the_server() -> None:
    c, _ = client()
    sign_in(c, KOR_SO)
    page = c.get("/web/agreements/kor-jpn-gsomia-2016").text
    svg = page.split('<svg xmlns="http://www.w3.org/2000/svg"', 1)[1].split("</svg>", 1)[0]
    assert "state-band-notice_suspended" in svg
    assert "state-band-notice_given" in svg
    assert "notice withdrawn 2023-03-21" in svg


def test_an_official_without_duty_sees_no_item_nor_its_labels() -> None:
    c, b = client("JPN")
    kor = b.cluster.nodes["KOR"]
    assert create_app(kor)  # the KOR app, to release through the API
    api = TestClient(create_app(kor))
    item = api.post("/v1/items", json=body_of(), headers=auth(RELEASER)).json()["item_id"]
    b.cluster.pump()
    sign_in(c, JPN_READER)
    listing = c.get("/web/exchanges").text
    assert item in listing
    assert "極秘" in listing
    assert "군사II급비밀" in listing
    read = c.post(f"/web/items/{item}/read", data={"csrf": csrf_of(c, f"/web/items/{item}")})
    assert read.status_code == 200
    assert "content-text" in read.text
    c.post("/web/logout", data={"csrf": csrf_of(c, "/web/agreements")})
    sign_in(c, JPN_NO_DUTY)
    listing = c.get("/web/exchanges").text
    assert item not in listing
    assert "極秘" not in listing.split('id="items"')[1].split("</table>")[0]
    page = c.get(f"/web/items/{item}")
    assert page.status_code == 404
    assert "極秘" not in page.text
    assert "군사II급비밀" not in page.text


def test_logout_ends_the_session() -> None:
    c, _ = client()
    sign_in(c, KOR_SO)
    assert c.post("/web/logout", data={"csrf": "forged"}).status_code == 403
    assert c.post("/web/logout", data={"csrf": csrf_of(c, "/web/agreements")}).status_code == 303
    assert c.get("/web/agreements").status_code == 303


def test_static_files_by_exact_name_only() -> None:
    c, _ = client()
    assert c.get("/web/static/app.css").headers["content-type"].startswith("text/css")
    mjs = c.get("/web/static/vendor/d3-geo/d3-geo.min.mjs")
    assert mjs.headers["content-type"].startswith("text/javascript")
    assert c.get("/web/static/vendor/world-atlas/LICENSE").status_code == 200
    assert c.get("/web/static/../templates/base.html").status_code == 404
    assert c.get("/web/static/%2e%2e/templates/base.html").status_code == 404


def test_simulate_needs_a_sensor_feed_or_security_officer() -> None:
    c, _ = client()
    assert c.post("/v1/tracks/simulate", json={}).status_code == 401
    assert c.post("/v1/tracks/simulate", json={}, headers=auth(RELEASER)).status_code == 403
    answer = c.post("/v1/tracks/simulate", json={"speed": 600, "rate_hz": 0.2, "seed": 3},
                    headers=auth(KOR_SO))  # fmt: skip
    assert answer.status_code == 202, answer.text
    assert answer.json()["messages"] > 0
    bad = c.post("/v1/tracks/simulate", json={"area": "nowhere"}, headers=auth(KOR_SO))
    assert bad.status_code == 422
    assert bad.json()["code"] == "TRACK_SIMULATION_INVALID"


def test_track_lens_shows_a_partner_track_only_to_the_entitled() -> None:
    b = bench()
    node = b.cluster.nodes["JPN"]
    messages = list(simulate(Scenario(NOW, rate_hz=0.2, seed=5)))
    kor = [m for m in messages if m.label.originator == "KOR"]
    with node._ctx.store.read() as reader:  # test access to the records only
        reader_rec = reader.official(JPN_READER)
        no_duty = reader.official(JPN_NO_DUTY)
    assert reader_rec is not None
    assert no_duty is not None
    seen = TrackLens(node, reader_rec).view(kor[0], NOW)
    assert seen is not None
    assert seen["markings"]["originator"]["level"] == "군사II급비밀"
    assert seen["markings"]["ours"]["level"] in ("極秘", "特定秘密")
    assert TrackLens(node, no_duty).view(kor[0], NOW) is None
    not_rel = replace(KOR_SENSOR, releasable_to=("KOR", "USA"))
    kor_only = next(simulate(Scenario(NOW, rate_hz=0.2, seed=5, sensors=(not_rel,))))
    assert TrackLens(node, reader_rec).view(kor_only, NOW) is None  # not releasable to JPN


def test_track_buffer_backlog_then_live_without_gap() -> None:
    buffer = TrackBuffer(size=4)
    messages = list(simulate(Scenario(NOW, rate_hz=0.2, seed=5)))[:8]

    async def run() -> list[int]:
        for m in messages[:6]:
            buffer.publish(m)
        sub = buffer.subscribe()
        got = [m.seq for m in sub.backlog]
        for m in messages[6:]:
            buffer.publish(m)
        while (m := await sub.next(0.2)) is not None:
            got.append(m.seq)
        sub.close()
        return got

    seqs = asyncio.run(run())
    assert seqs == [m.seq for m in messages[2:]]
    assert buffer.subscribers == 0


def test_audit_jobs_report_progress_and_result() -> None:
    b = bench()
    jobs = Jobs(checkpoint_check(b.cluster.nodes["KOR"]))
    job = jobs.start("kor-so-1")
    for _ in range(200):
        if job.view()["finished"]:
            break
        asyncio.run(asyncio.sleep(0.01))
    view = job.view()
    assert view["finished"]
    assert view["ok"]
    assert view["done"] == view["total"] == 3


def test_sessions_expire() -> None:
    store = SessionStore(idle=0.0)
    sid, _ = store.create(token="t", official_id="x")
    assert store.get(sid) is None
    store = SessionStore()
    sid, session = store.create()
    assert store.get(sid) is session
    assert not session.signed_in
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok("x")
    assert not session.csrf_ok(None)
    assert store.get("nope") is None


def test_audit_page_and_sse_progress() -> None:
    c, _ = client()
    sign_in(c, KOR_SO)
    answer = c.post("/web/audit/verify", data={"csrf": csrf_of(c, "/web/audit")})
    assert answer.status_code == 303
    job = answer.headers["location"].split("job=")[1]
    with c.stream("GET", f"/web/audit/jobs/{job}/events") as events:
        text = "".join(events.iter_text())
    result = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert result[-1]["finished"]
    assert result[-1]["ok"]


def test_consent_page_is_for_officers() -> None:
    c, _ = client("JPN")
    sign_in(c, JPN_READER)
    assert c.get("/web/consent").status_code == 403
    assert "Consent requests" not in c.get("/web/agreements").text


@pytest.mark.parametrize("path", ["/web/breaches", "/web/consent"])
def test_security_officer_pages(path: str) -> None:
    c, _ = client()
    sign_in(c, KOR_SO)
    assert c.get(path).status_code == 200


def test_node_time_drives_the_countdown() -> None:
    c, _ = client()
    sign_in(c, KOR_SO)
    page = c.get("/web/agreements/kor-jpn-gsomia-2016").text
    assert 'id="next-renewal"' in page
    assert 'data-now="2026-11-23T03:00:00Z"' in page
