"""The attack catalogue's harness: a three-node cluster, and a watch on one node's store.

Every attack in ``tests/adversarial`` is held to PRODUCT.md §8 the same way: the refusal carries
its stable code, the node's store holds exactly what it held before (its *whole* content, every
table, compared value by value), and the node's audit log gained a record naming the code.  A
verified item that is refused is also recorded in the inbox as ``rejected`` (ADR 0004 §5: a
replay gets the same answer); that is the refusal's own record, and :meth:`Watch.rejected`
checks it rather than ignoring it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any

from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.ports import InboxOutcome, Store
from gsomia.testing import InMemoryStore


def contents(store: Store) -> dict[str, Any]:
    """Everything an in-memory store holds except its audit log, table by table."""
    assert isinstance(store, InMemoryStore), "the watch reads the in-memory store's tables"
    state = store._state
    out: dict[str, Any] = {}
    for f in fields(state):
        value = getattr(state, f.name)
        if f.name == "audit":
            continue
        if f.name == "cases":
            for g in fields(value):
                out[f"cases.{g.name}"] = copy.copy(getattr(value, g.name))
        else:
            out[f.name] = copy.copy(value)
    return out


def audit_records(store: Store, start: int = 0) -> list[AuditRecord]:
    """The audit records of ``store`` from index ``start`` on."""
    with store.read() as reader:
        return [reader.audit_entry(i) for i in range(start, reader.audit_size())]


@dataclass
class Watch:
    """What one node's store held before an attack; the checks of what it holds after."""

    store: Store
    before: dict[str, Any] = field(init=False)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.before = contents(self.store)
        with self.store.read() as reader:
            self.size = reader.audit_size()

    def new_records(self) -> list[AuditRecord]:
        """The audit records appended since the watch began."""
        return audit_records(self.store, self.size)

    def changed(self) -> set[str]:
        """The tables whose content differs from before."""
        after = contents(self.store)
        return {name for name in after if after[name] != self.before.get(name)}

    def untouched(self) -> None:
        """Nothing but the audit log changed."""
        assert self.changed() == set(), "the attack left state behind"

    def rejected(
        self,
        code: str,
        *,
        kind: AuditKind | None = None,
        decision: str = "deny",
        inbox: bool = False,
    ) -> AuditRecord:
        """The attack was refused with ``code``, audited, and left nothing else behind.

        With ``inbox``, the one other change allowed is the inbox entry that records the
        refusal of a verified item (outcome ``rejected``, the same codes).
        """
        changed = self.changed()
        if inbox:
            assert changed <= {"inbox"}, changed
            added = {
                k: v
                for k, v in contents(self.store)["inbox"].items()
                if k not in self.before["inbox"]
            }
            assert added, "a refused verified item is recorded in the inbox"
            for entry in added.values():
                assert entry.outcome is InboxOutcome.REJECTED
                assert code in entry.reasons
        else:
            assert changed == set(), f"the attack left state behind in {sorted(changed)}"
        records = [r for r in self.new_records() if code in r.reasons]
        assert records, f"no audit record names {code}: {self.new_records()}"
        record = records[-1]
        assert record.decision == decision
        if kind is not None:
            assert record.kind is kind
        return record
