"""The node's directory: bootstrap, tokens, officials and what each role may list (issue 4 §1)."""

from __future__ import annotations

import pytest

from gsomia.audit.records import AuditKind
from gsomia.node import Node, NodeForbiddenError, NodeInputError, NodeUnauthenticatedError
from gsomia.node.errors import NodeItemNotFoundError
from gsomia.policy import Official
from gsomia.ports import OfficialRecord, Role
from gsomia.testing import InMemoryStore
from tests.unit.node.cluster import JPN_NO_DUTY, JPN_READER, RELEASER, Cluster, release_to_japan

KSO = OfficialRecord(
    Official("kor-so-1", "KOR", "군사II급비밀", frozenset({"NK-MISSILE"}), True),
    frozenset({Role.SECURITY_OFFICER}),
)


def _record(node_store: object, official_id: str) -> OfficialRecord:
    assert isinstance(node_store, InMemoryStore)
    with node_store.read() as reader:
        found = reader.official(official_id)
    assert found is not None
    return found


def test_bootstrap_only_once_and_token_authenticates(cluster: Cluster) -> None:
    ctx = cluster.nodes["KOR"]._ctx  # a fresh, empty KOR node on the same keys
    store = InMemoryStore()
    fresh = Node("KOR", ctx.registry, store, ctx.channel, ctx.keys, ctx.trust, ctx.clock)
    token = fresh.bootstrap(KSO)
    assert token.startswith("gsomia_kor_")
    assert fresh.authenticate(token).official.id == "kor-so-1"
    with store.read() as reader:  # held as its hash only
        assert token.encode() not in repr(reader.officials()).encode()
    with pytest.raises(NodeInputError) as err:
        fresh.bootstrap(KSO)
    assert err.value.code == "NODE_ALREADY_INITIALISED"


def test_bootstrap_refuses_a_non_officer(cluster: Cluster) -> None:
    node = cluster.nodes["KOR"]
    reader = OfficialRecord(KSO.official, frozenset({Role.READER}))
    with pytest.raises(NodeInputError) as err:
        node.bootstrap(reader)
    assert err.value.code == "NODE_BOOTSTRAP_INVALID"


@pytest.mark.parametrize("token", ["", "nope", "x" * 1000, 42, None])
def test_bad_tokens_are_refused_and_audited(cluster: Cluster, token: object) -> None:
    node = cluster.nodes["KOR"]
    before = len(cluster.audit("KOR"))
    with pytest.raises(NodeUnauthenticatedError) as err:
        node.authenticate(token)  # type: ignore[arg-type]
    assert err.value.status == 401
    after = cluster.audit("KOR")
    assert len(after) == before + 1
    assert after[-1].reasons == ("NODE_UNAUTHENTICATED",)


def test_security_officer_adds_officials_and_issues_tokens(cluster: Cluster) -> None:
    node = cluster.nodes["KOR"]
    with cluster.stores["KOR"].unit_of_work() as uow:
        uow.put_official(KSO)
    new = OfficialRecord(
        Official("kor-analyst-9", "KOR", "군사III급비밀", frozenset({"NK-MISSILE"}), True),
        frozenset({Role.READER}),
    )
    node.add_official(KSO, new)
    token = node.issue_token(KSO, "kor-analyst-9")
    assert node.authenticate(token) == new
    assert "kor-analyst-9" in [o.official.id for o in node.officials(KSO)]
    kinds = [(r.kind, r.decision) for r in cluster.audit("KOR")[-2:]]
    assert kinds == [(AuditKind.OFFICIAL_EVENT, "enrol"), (AuditKind.OFFICIAL_EVENT, "token")]


def test_directory_refusals(cluster: Cluster) -> None:
    node = cluster.nodes["KOR"]
    with cluster.stores["KOR"].unit_of_work() as uow:
        uow.put_official(KSO)
    releaser = _record(cluster.stores["KOR"], RELEASER)
    foreign = OfficialRecord(
        Official("jpn-x", "JPN", "極秘", frozenset(), True), frozenset({Role.READER})
    )
    unknown_level = OfficialRecord(
        Official("kor-x", "KOR", "TOP-ish", frozenset(), True), frozenset({Role.READER})
    )
    with pytest.raises(NodeForbiddenError):
        node.add_official(releaser, foreign)  # not a security officer
    with pytest.raises(NodeInputError) as err:
        node.add_official(KSO, foreign)
    assert err.value.code == "NODE_OFFICIAL_FOREIGN"
    with pytest.raises(NodeInputError) as err:
        node.add_official(KSO, unknown_level)
    assert err.value.code == "UNKNOWN_LEVEL"
    with pytest.raises(NodeItemNotFoundError) as nf:
        node.issue_token(KSO, "nobody")
    assert nf.value.code == "OFFICIAL_NOT_FOUND"
    with pytest.raises(NodeForbiddenError):
        node.officials(releaser)
    with pytest.raises(NodeForbiddenError):
        node.outbox(_record(cluster.stores["KOR"], "kor-reader-1"))
    with cluster.stores["KOR"].read() as reader:
        ids = [o.official.id for o in reader.officials()]
    assert "jpn-x" not in ids
    assert "kor-x" not in ids


def test_items_listing_follows_art7_for_readers(cluster: Cluster) -> None:
    result = release_to_japan(cluster)
    cluster.pump()
    jpn = cluster.nodes["JPN"]
    reader = _record(cluster.stores["JPN"], JPN_READER)
    no_duty = _record(cluster.stores["JPN"], JPN_NO_DUTY)
    assert [i.item_id for i in jpn.items(reader)] == [result.item_id]
    assert jpn.item(reader, result.item_id).received_from == "KOR"
    assert jpn.items(no_duty) == []
    with pytest.raises(NodeItemNotFoundError):
        jpn.item(no_duty, result.item_id)  # not there for them: no oracle
    kor = cluster.nodes["KOR"]
    releaser = _record(cluster.stores["KOR"], RELEASER)
    assert [i.item_id for i in kor.items(releaser)] == [result.item_id]
    assert [e.message.recipient for e in kor.outbox(releaser)] == ["JPN"]
    assert {r.party for r in kor.receipts(releaser, result.item_id)} == {"JPN"}


def test_audit_head_and_checkpoint(cluster: Cluster) -> None:
    node = cluster.nodes["KOR"]
    release_to_japan(cluster)
    size, root = node.audit_head()
    assert size == len(cluster.audit("KOR"))
    note = node.checkpoint().decode()
    assert note.startswith("gsomia/kor/audit\n" + f"{size}\n")
    assert len(root) == 32
