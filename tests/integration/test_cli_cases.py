"""The case commands end to end (issue 4 §2-3): real KOR, JPN and USA node processes, driven by
``python -m gsomia.cli.main … --json`` as officials would, with ``GSOMIA_NODE`` and
``GSOMIA_TOKEN`` in the environment.

KOR releases to JPN; JPN asks KOR's consent to forward to the USA; KOR's security officer
approves; JPN forwards; a USA analyst reads it.  A JPN analyst reports a possible breach, which
KOR's security officer sees at once.  Refusals exit with the client's codes and a problem.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.scenario import OFFICIALS, missile_label

pytestmark = pytest.mark.integration

TEXT = "북한 탄도미사일 발사 (NK ballistic missile launch)"
WHY = "joint assessment of NK missile launches"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    nodes = LocalCluster(tmp_path_factory.mktemp("cases") / "nodes", ("KOR", "JPN", "USA"))
    nodes.create(datetime.now(UTC) - timedelta(days=1))
    nodes.start()
    try:
        nodes.enrol(OFFICIALS)
        yield nodes
    finally:
        nodes.stop()


def gsomia(
    cluster: LocalCluster, party: str, official: str, *argv: str
) -> tuple[int, dict[str, Any]]:
    """Run one command as ``official`` of ``party``'s node; (exit code, its JSON document)."""
    node = cluster.nodes[party]
    env = {**os.environ, "GSOMIA_NODE": node.api_url, "GSOMIA_TOKEN": node.tokens[official]}
    done = subprocess.run(
        [sys.executable, "-m", "gsomia.cli.main", *argv, "--json"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.stdout, done.stderr.decode()
    document: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, document


def ok(cluster: LocalCluster, party: str, official: str, *argv: str) -> dict[str, Any]:
    code, document = gsomia(cluster, party, official, *argv)
    assert code == 0, document
    return document


def until(what: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_consent_forward_and_breach_through_the_cli(cluster: LocalCluster, tmp_path: Path) -> None:
    label = tmp_path / "label.json"
    label.write_text(json.dumps(missile_label("KOR", "군사II급비밀", datetime.now(UTC))))
    released = ok(cluster, "KOR", "kor-release-1", "release", "--label", str(label),
                  "--text", TEXT, "--to", "JPN", "--topic", "NK-MISSILE", "--purpose", WHY)  # fmt: skip
    item = released["item_id"]
    assert cluster.wait_settled("KOR", item)
    code, refused = gsomia(cluster, "JPN", "jpn-release-1", "forward", item, "--to", "USA",
                           "--purpose", WHY)  # fmt: skip
    assert (code, refused["error"]["code"]) == (7, "FORWARD_REFUSED")  # no consent yet
    assert "CONSENT_MISSING" in refused["error"]["reasons"]

    asked = ok(cluster, "JPN", "jpn-release-1", "consent", "request", item, "--to", "USA",
               "--purpose", WHY)  # fmt: skip
    assert (asked["state"], asked["originator"]) == ("pending", "KOR")
    request_id = asked["request_id"]

    def received() -> bool:
        page = ok(cluster, "KOR", "officer", "consent", "list", "--direction", "received")
        return any(r["request_id"] == request_id for r in page["items"])

    until(received)
    approved = ok(cluster, "KOR", "officer", "consent", "approve", request_id,
                  "--condition", "no further release")  # fmt: skip
    assert approved["state"] == "approved"

    def consented() -> bool:
        page = ok(cluster, "JPN", "jpn-release-1", "consent", "list", "--state", "approved")
        return any(r["request_id"] == request_id for r in page["items"])

    until(consented)
    sent = ok(cluster, "JPN", "jpn-release-1", "forward", item, "--to", "USA", "--purpose", WHY)
    assert (sent["forwarded"], sent["consent_id"]) == (True, request_id)
    code, again = gsomia(cluster, "JPN", "jpn-release-1", "forward", item, "--to", "USA",
                         "--purpose", WHY)  # fmt: skip
    assert (code, again["error"]["code"]) == (2, "NODE_ALREADY_SENT")
    assert cluster.wait_settled("JPN", item)
    read = ok(cluster, "USA", "usa-analyst-1", "read", item)
    assert read["text"] == TEXT

    breach = ok(cluster, "JPN", "jpn-analyst-1", "breach", "report", item, "--kind", "possible",
                "--description", "a printout is missing from the J2 safe")  # fmt: skip
    assert (breach["reporter"], breach["originator"]) == ("JPN", "KOR")

    def notified() -> bool:
        page = ok(cluster, "KOR", "officer", "breach", "list", "--item", item)
        return any(b["breach_id"] == breach["breach_id"] for b in page["items"])

    until(notified)


def test_refusals_exit_with_the_client_codes_and_a_problem(cluster: LocalCluster) -> None:
    code, document = gsomia(cluster, "KOR", "officer", "consent", "approve", "no-such-request")
    assert (code, document["error"]["code"]) == (3, "NODE_CONSENT_NOT_FOUND")
    code, document = gsomia(
        cluster, "JPN", "jpn-analyst-1", "consent", "request", "no-such-item", "--to", "USA",
        "--purpose", WHY,
    )  # fmt: skip
    assert (code, document["error"]["code"]) == (7, "NODE_FORBIDDEN")
    code, document = gsomia(
        cluster, "JPN", "jpn-release-1", "forward", "no-such-item", "--to", "USA", "--purpose", WHY
    )
    assert (code, document["error"]["code"]) == (3, "NODE_ITEM_NOT_FOUND")
    code, document = gsomia(
        cluster, "JPN", "jpn-analyst-1", "breach", "report", "no-such-item", "--kind", "actual",
        "--description", "x" * 2001,
    )  # fmt: skip
    assert (code, document["error"]["code"]) == (2, "NODE_INPUT_INVALID")
