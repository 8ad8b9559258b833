"""Fixtures of the node tests: a fresh three-node cluster on in-memory fakes."""

from __future__ import annotations

import pytest

from tests.unit.node.cluster import Cluster, build


@pytest.fixture
def cluster() -> Cluster:
    """With every official of the node tests (security officers, JPN's release officer, the
    USA's directory); the API bench builds its own, smaller directory."""
    return build(custody=True)
