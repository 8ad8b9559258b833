"""Shared fixtures: the built-in registry, instants and a label factory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from hypothesis import settings

from gsomia.catalog import builtin_registry
from gsomia.instants import parse_instant
from gsomia.labels import RELEASABLE_TO, TOPIC, Category, CategoryType, OriginatorLabel
from gsomia.registry import Registry
from tests.private_postgres import CI, PrivatePostgres

settings.register_profile("ci", max_examples=150, deadline=None, derandomize=False)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _SKIPPED.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped test is a failure: every real service and tool must be there."""
    if os.environ.get("CI", "").lower() in {"1", "true"} and _SKIPPED:
        print(f"\nCI: {len(_SKIPPED)} test(s) skipped, which CI treats as failure:")
        for nodeid in _SKIPPED:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL for the session (tests/private_postgres.py), started on first use.

    If it cannot start, the tests that need it fail under CI and are skipped, with the reason,
    elsewhere (and a skip under CI is a failure anyway: see pytest_sessionfinish).
    """
    try:
        server = PrivatePostgres.start()
    except Exception as exc:  # any failure to start is reported, never hidden
        message = f"a private PostgreSQL could not start: {type(exc).__name__}: {exc}"
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    yield server
    server.stop()


def at(text: str) -> datetime:
    """Shorthand for an instant."""
    return parse_instant(text)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return builtin_registry()


LabelFactory = Callable[..., OriginatorLabel]


def make_label(
    level: str = "군사II급비밀",
    originator: str = "KOR",
    rel_to: tuple[str, ...] = ("KOR", "JPN", "USA"),
    topics: tuple[str, ...] = ("NK-MISSILE",),
    policy_id: str | None = None,
    created: str = "2016-12-01T00:00:00+09:00",
) -> OriginatorLabel:
    categories = [Category(RELEASABLE_TO, CategoryType.PERMISSIVE, rel_to)]
    if topics:
        categories.append(Category(TOPIC, CategoryType.RESTRICTIVE, topics))
    return OriginatorLabel(
        policy_id=policy_id or originator,
        classification=level,
        originator=originator,
        created=parse_instant(created),
        categories=tuple(categories),
    )


@pytest.fixture
def label() -> LabelFactory:
    return make_label
