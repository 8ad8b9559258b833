"""Fixtures of the conformance suite: a running node for Schemathesis (:mod:`.running`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.running import Running, start_nodes


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """KOR and JPN node processes with officials of every role and a small history."""
    with start_nodes(tmp_path_factory.mktemp("conformance") / "nodes") as nodes:
        yield nodes
