"""Marking schemes, equivalence tables (Art. 4), the registry's cross-checks and the catalog."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gsomia.agreements import Agreement, Kind
from gsomia.catalog import load_events, parse_agreement, with_events
from gsomia.errors import DataError, MarkingError
from gsomia.markings import EquivalenceRow, EquivalenceTable, Level, Scheme
from gsomia.registry import Registry

SRC = Path(__file__).parents[2] / "src" / "gsomia"


def test_rank_is_data_and_aliases_resolve(registry):
    kor = registry.scheme_of("KOR")
    assert kor.level("군사1급비밀") is kor.level("군사I급비밀")
    assert kor.level("군사I급비밀").rank > kor.level("군사II급비밀").rank
    assert registry.level("JPN", "特定秘密").rank > registry.level("JPN", "極秘").rank
    nato = registry.schemes["NATO"]
    assert [lv.native for lv in sorted(nato.levels, key=lambda lv: lv.rank)] == [
        "NATO RESTRICTED",
        "NATO CONFIDENTIAL",
        "NATO SECRET",
        "COSMIC TOP SECRET",
    ]


def test_unknown_level_and_party_have_codes(registry):
    with pytest.raises(MarkingError) as err:
        registry.level("KOR", "SECRET")
    assert err.value.code == "UNKNOWN_LEVEL"
    with pytest.raises(MarkingError) as err:
        registry.scheme_of("NATO")
    assert err.value.code == "UNKNOWN_PARTY"


def test_scheme_refuses_shared_ranks_and_names():
    with pytest.raises(MarkingError):
        Scheme("X", "x", (Level("X", "A", "A", 10), Level("X", "B", "B", 10)))
    with pytest.raises(MarkingError):
        Scheme("X", "x", (Level("X", "A", "A", 10), Level("X", "B", "B", 20, aliases=("A",))))


def test_rok_jpn_table_is_the_agreements_and_sourced(registry):
    table = registry.agreement("kor-jpn-gsomia-2016").table(1)
    assert table.equivalent("KOR", "군사II급비밀", "JPN") == "極秘"
    assert table.equivalent("JPN", "特定秘密", "KOR") == "군사II급비밀"
    assert table.equivalent("KOR", "군사III급비밀", "JPN") == "秘"
    assert table.equivalent("KOR", "군사I급비밀", "JPN") is None
    assert not table.assumed
    assert all(row.source for row in table.rows)


def test_facts_that_are_not_public_are_marked_assumed(registry):
    for agreement_id in ("usa-jpn-gsomia-2007", "usa-kor-gsomia-1987", "tisa-2014"):
        assert registry.agreement(agreement_id).table(1).assumed


def test_row_needs_a_source_or_the_assumed_flag():
    with pytest.raises(MarkingError):
        EquivalenceRow("SECRET", {"KOR": ("군사II급비밀",), "JPN": ("極秘",)})


def _agreement(rows) -> Agreement:
    return Agreement(
        id="t",
        title="t",
        kind=Kind.BILATERAL,
        parties=("KOR", "JPN"),
        tables=(EquivalenceTable("t", 1, rows),),
        events=(),
    )


def test_registry_refuses_a_table_that_is_not_downward_closed(registry):
    gap = (EquivalenceRow("SECRET", {"KOR": ("군사II급비밀",), "JPN": ("極秘",)}, "test"),)
    with pytest.raises(DataError, match="downward closed"):
        Registry(registry.schemes, registry.topics, {"t": _agreement(gap)})


def test_registry_refuses_a_level_that_is_not_in_the_scheme(registry):
    rows = (EquivalenceRow("SECRET", {"KOR": ("SECRET",), "JPN": ("極秘",)}, "test"),)
    with pytest.raises(DataError, match="not a level"):
        Registry(registry.schemes, registry.topics, {"t": _agreement(rows)})


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"id": "x", "kind": "bilateral", "parties": ["KOR", "JPN"], "colour": 1}, "unknown keys"),
        (
            {
                "id": "x",
                "kind": "bilateral",
                "parties": ["KOR", "JPN"],
                "events": [{"kind": "signed"}],
            },
            "'at' is missing",
        ),
        (
            {
                "id": "x",
                "kind": "bilateral",
                "parties": ["KOR", "JPN"],
                "events": [{"kind": "sealed", "at": "2020-01-01T00:00Z"}],
            },
            "'kind' must be one of",
        ),
    ],
)
def test_catalog_errors_name_the_problem(raw, fragment):
    with pytest.raises(DataError, match=fragment):
        parse_agreement(raw, "test.toml")


def test_what_if_file_round_trip(tmp_path, registry):
    path = tmp_path / "w.toml"
    path.write_text(
        '[[events]]\nkind = "notice_given"\nat = "2030-01-01T00:00:00+09:00"\nby = "KOR"\n',
        encoding="utf-8",
    )
    named, events = load_events(path)
    assert named is None
    assert events[0].hypothetical
    world = with_events(registry, "kor-jpn-gsomia-2016", events)
    assert len(world.agreement("kor-jpn-gsomia-2016").events) == 6
    assert len(registry.agreement("kor-jpn-gsomia-2016").events) == 5  # the original is intact


def test_what_if_with_a_naive_time_is_refused(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(
        '[[events]]\nkind = "notice_given"\nat = 2030-01-01T00:00:00\nby = "KOR"\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="offset"):
        load_events(path)


CORE = [
    "markings",
    "labels",
    "agreements",
    "policy",
    "ports",
    "envelope",
    "proofs",
    "tracks",
    "audit/merkle.py",
    "audit/records.py",
    "audit/checkpoint.py",
    "strictjson.py",
    "errors.py",
    "instants.py",
    "reasons.py",
    "registry.py",
]


def test_the_core_never_reads_a_clock():
    """Complements the import-linter contract: no datetime.now()/today()/utcnow() in the core."""
    offenders = []
    for entry in CORE:
        path = SRC / entry
        files = [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
        for file in files:
            if not file.exists():
                continue
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in {"now", "today", "utcnow"}:
                    offenders.append(f"{file.relative_to(SRC)}:{node.lineno}")
    assert offenders == []
