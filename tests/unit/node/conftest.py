"""Fixtures of the node tests: a fresh three-node cluster on in-memory fakes."""

from __future__ import annotations

import pytest

from tests.unit.node.cluster import Cluster, build


@pytest.fixture
def cluster() -> Cluster:
    return build()
