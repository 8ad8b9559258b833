"""The case commands, in text and ``--json``, against the API in process (the in-memory cluster of
the API tests behind each command's client): every command runs, prints what it did, and exits
with the client's codes on a problem."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gsomia.cli import cases, custody
from gsomia.cli.main import main
from gsomia.instants import format_instant
from gsomia.runtime.client import api_error
from tests.unit.api.casekit import (
    JPN_READER,
    JPN_RELEASER,
    JPN_SECURITY,
    KOR_SECURITY,
    NOW,
    RELEASER,
    CaseBench,
    auth,
    case_bench,
)

WHY = "joint assessment of NK missile launches"


class InProcess:
    """The :class:`~gsomia.runtime.client.ApiClient` interface over a ``TestClient``."""

    def __init__(self, client: TestClient, official: str) -> None:
        self.client, self.headers = client, auth(official)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        query = {k: v for k, v in (kwargs.get("params") or {}).items() if v is not None}
        response = self.client.request(
            method, path, json=kwargs.get("body"), params=query, headers=self.headers
        )
        if not 200 <= response.status_code < 300:
            raise api_error(response.json(), response.status_code)
        return response.json() if response.content else None


class Cli:
    """Runs ``gsomia …`` as an official of a node of the bench."""

    def __init__(self, bench: CaseBench, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        self.bench, self.monkeypatch, self.capsys = bench, monkeypatch, capsys

    def __call__(self, party: str, official: str, *argv: str) -> tuple[int, str, str]:
        def client_for(args: object) -> InProcess:
            return InProcess(self.bench.clients[party], official)

        for module in (cases, custody):
            self.monkeypatch.setattr(module, "client_for", client_for)
        code = main(list(argv))
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def json(self, party: str, official: str, *argv: str) -> dict[str, Any]:
        code, out, err = self(party, official, *argv, "--json")
        assert code == 0, out + err
        document: dict[str, Any] = json.loads(out)
        return document


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(case_bench(), monkeypatch, capsys)


def test_consent_and_forward_in_text(cli: Cli) -> None:
    item = cli.bench.held_at_jpn()
    code, out, _ = cli("JPN", JPN_RELEASER, "consent", "request", item, "--to", "USA",
                       "--purpose", WHY, "--expires", "2026-12-23T00:00:00+09:00")  # fmt: skip
    assert code == 0
    assert f"sent to KOR: forward {item} to USA (pending)" in out
    cli.bench.pump()
    (request,) = cli.json("KOR", KOR_SECURITY, "consent", "list", "--state", "pending")["items"]
    code, out, _ = cli("KOR", KOR_SECURITY, "consent", "list", "--direction", "received")
    assert f"{request['request_id']}  received pending  item {item}  JPN → USA" in out
    code, out, _ = cli("KOR", KOR_SECURITY, "consent", "approve", request["request_id"],
                       "--condition", "no further release", "--conditions", "NK only")  # fmt: skip
    assert (code, "approved: written consent signed and sent to JPN" in out) == (0, True)
    cli.bench.pump()
    code, out, _ = cli("JPN", JPN_RELEASER, "forward", item, "--to", "USA", "--purpose", WHY)
    assert (code, out.strip()) == (
        0,
        f"forwarded {item} to USA under consent {request['request_id']}",
    )
    revoked = cli.json("KOR", KOR_SECURITY, "consent", "revoke", request["request_id"])
    assert revoked["conditions"] == ["no further release", "NK only"]
    assert revoked["revoked_at"] is not None


def test_a_denial_and_refusals_in_text_and_json(cli: Cli) -> None:
    item = cli.bench.held_at_jpn()
    asked = cli.json(
        "JPN", JPN_RELEASER, "consent", "request", item, "--to", "USA", "--purpose", WHY
    )
    cli.bench.pump()
    code, out, _ = cli("KOR", KOR_SECURITY, "consent", "deny", asked["request_id"])
    assert (code, out.strip()) == (0, f"request {asked['request_id']} refused to JPN")
    code, out, err = cli("JPN", JPN_RELEASER, "forward", item, "--to", "USA", "--purpose", WHY)
    assert (code, out) == (7, "")
    assert "gsomia: error [FORWARD_REFUSED]" in err
    code, out, _ = cli("KOR", KOR_SECURITY, "consent", "deny", asked["request_id"], "--json")
    assert (code, json.loads(out)["error"]["code"]) == (2, "NODE_CONSENT_DECIDED")
    code, out, _ = cli("JPN", JPN_READER, "consent", "list", "--json")
    assert (code, json.loads(out)["error"]["status"]) == (7, 403)


def test_breach_report_list_and_update(cli: Cli) -> None:
    item = cli.bench.held_at_jpn()
    code, out, _ = cli("JPN", JPN_READER, "breach", "report", item, "--kind", "possible",
                       "--description", "a printout is missing")  # fmt: skip
    assert code == 0
    assert out.startswith("breach ")
    assert out.strip().endswith("reported (possible); KOR notified")
    cli.bench.pump()
    code, out, _ = cli("KOR", KOR_SECURITY, "breach", "list", "--item", item, "--limit", "1")
    assert f"item {item}  possible reported" in out
    (breach,) = cli.json("JPN", JPN_SECURITY, "breach", "list")["items"]
    code, out, _ = cli("JPN", JPN_SECURITY, "breach", "update", breach["breach_id"], "--status",
                       "closed", "--results", "misfiled", "--measures", "two-person rule")  # fmt: skip
    assert (code, out.strip()) == (0, f"breach {breach['breach_id']}: closed (version 2)")
    code, out, _ = cli("KOR", KOR_SECURITY, "breach", "list", "--item", "nothing")
    assert out.strip() == "no breaches"


def test_reclassify_dispose_and_destroy(cli: Cli) -> None:
    item = cli.bench.held_at_jpn()
    code, out, _ = cli("KOR", RELEASER, "reclassify", item, "--level", "군사III급비밀")
    assert (code, out.strip()) == (0, f"{item} reclassified at 군사III급비밀; holders re-mark it")
    cli.bench.pump()
    asked = cli.json("KOR", RELEASER, "dispose", "request", item, "--holder", "JPN",
                     "--action", "return", "--reason", "no longer needed")  # fmt: skip
    assert asked["state"] == "requested"
    cli.bench.pump()
    code, out, _ = cli("JPN", JPN_SECURITY, "dispose", "list")
    assert f"{asked['disposal_id']}  item {item}  JPN to return  requested" in out
    code, out, _ = cli("JPN", JPN_SECURITY, "dispose", "execute", asked["disposal_id"])
    assert "completed" in out
    assert "certificate sent to KOR" in out
    code, out, err = cli("JPN", JPN_SECURITY, "destroy", item, "--reason", "no longer needed")
    assert (code, "NODE_ITEM_NOT_HELD" in err) == (2, True)
    other = cli.bench.held_at_jpn()
    code, out, _ = cli("JPN", JPN_SECURITY, "destroy", other, "--reason", "no longer needed")
    assert code == 0
    assert out.startswith(f"{other} destroyed (disposal ")
    assert "certificate sent to KOR" in out


def test_visits_and_agreement_events(cli: Cli) -> None:
    start = NOW + timedelta(days=7)
    code, out, _ = cli("KOR", KOR_SECURITY, "visit", "request", "--host", "JPN", "--name",
                       "KIM Min-jun", "--clearance", "군사II급비밀", "--purpose", WHY,
                       "--start", format_instant(start),
                       "--end", format_instant(start + timedelta(days=2)))  # fmt: skip
    assert code == 0
    assert "requested: KIM Min-jun to JPN" in out
    cli.bench.pump()
    (visit,) = cli.json("JPN", JPN_SECURITY, "visit", "list")["items"]
    assert visit["visitor"]["nationality"] == "KOR"
    code, out, _ = cli("JPN", JPN_SECURITY, "visit", "decide", visit["visit_id"], "--approve",
                       "--level", "極秘")  # fmt: skip
    assert (code, out.strip().endswith("approved up to 極秘")) == (0, True)
    code, out, _ = cli("JPN", JPN_SECURITY, "visit", "decide", visit["visit_id"], "--deny")
    assert code == 2
    code, out, _ = cli("KOR", KOR_SECURITY, "agreement-event", "record", "kor-jpn-gsomia-2016",
                       "--kind", "notice_given", "--at", "2026-11-23T11:00:00+09:00",
                       "--by", "KOR", "--note", "written notice")  # fmt: skip
    assert code == 0
    assert out.startswith("event 1 recorded on kor-jpn-gsomia-2016:")
    assert "2026-11-23T11:00:00+09:00  notice_given by KOR  written notice" in out
    code, out, _ = cli("KOR", RELEASER, "agreement-event", "list", "kor-jpn-gsomia-2016")
    assert out.strip().startswith("1  2026-11-23T11:00:00+09:00  notice_given by KOR")
    code, out, _ = cli("KOR", KOR_SECURITY, "agreement-event", "record", "kor-jpn-gsomia-2016",
                       "--kind", "notice_given", "--at", "2026-11-23T11:30:00+09:00", "--json")  # fmt: skip
    assert (code, json.loads(out)["error"]["code"]) == (2, "REQUEST_INVALID")  # no --by
