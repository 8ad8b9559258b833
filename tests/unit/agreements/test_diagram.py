"""The lifecycle diagram in docs/architecture.md is the one drawn from the table."""

from pathlib import Path

from gsomia.agreements.lifecycle import mermaid


def test_architecture_doc_shows_the_current_table():
    doc = (Path(__file__).parents[3] / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert mermaid() in doc
