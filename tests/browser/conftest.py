"""Browser tests of the dashboard (issue 6): Playwright driving Debian's Chromium, headless.

Real node processes (:class:`gsomia.runtime.cluster.LocalCluster`, KOR and JPN) are started once
per module; each test opens a fresh browser context (its own cookies) and writes a screenshot to
``tests/browser/screenshots/`` for review.  Playwright's own browser download is not used:
``executable_path`` is Debian's ``chromium`` (scripts/test installs it when it can).  Without
it the tests are skipped, except under ``CI=true``, where a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.scenario import OFFICIALS

pytestmark = pytest.mark.integration

SHOTS = Path(__file__).parent / "screenshots"
ARGS = ["--no-sandbox", "--disable-background-networking"]


def official(
    oid: str, party: str, clearance: str, duties: list[str], *roles: str
) -> dict[str, Any]:
    return {"id": oid, "nationality": party, "clearance": clearance, "duties": duties,
            "roles": list(roles), "in_register": True, "rank": "", "post": "", "active": True}  # fmt: skip


EXTRA = {
    "KOR": [
        official("kor-watch-1", "KOR", "군사II급비밀", ["NK-MISSILE"], "reader"),
        official("kor-sensor-1", "KOR", "군사II급비밀", ["NK-MISSILE"], "sensor_feed"),
    ],
    "JPN": [],
}


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        message = "Debian's chromium is not installed (scripts/test installs it as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    chromium_path()
    cluster = LocalCluster(tmp_path_factory.mktemp("browser") / "nodes", ("KOR", "JPN"))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    cluster.start()
    try:
        cluster.enrol({p: OFFICIALS[p] + EXTRA[p] for p in ("KOR", "JPN")})
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def shot(page: Any, name: str) -> None:
    """Write the page's screenshot for review."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, cluster: LocalCluster, party: str, who: str, then: str = "") -> None:
    """Sign in at ``party``'s dashboard as ``who`` (a key of the node's tokens)."""
    node = cluster.nodes[party]
    page.goto(f"{node.api_url}/web/login" + (f"?next={then}" if then else ""))
    page.get_by_label("API token").fill(node.tokens[who])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#who")
