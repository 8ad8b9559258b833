"""Fixtures of the API tests: a fresh bench (three nodes on fakes, KOR and JPN apps)."""

from __future__ import annotations

import pytest

from tests.unit.api.helpers import Bench, bench


@pytest.fixture
def api() -> Bench:
    return bench()
