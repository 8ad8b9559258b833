"""Fixtures of the attack catalogue (the checks every attack is held to: :mod:`.harness`)."""

from __future__ import annotations

import pytest

from tests.unit.node.cluster import Cluster, build


@pytest.fixture
def cluster() -> Cluster:
    """KOR, JPN and USA nodes on in-memory fakes with real keys, and every custody official."""
    return build(custody=True)
