"""The attack catalogue's harness: a three-node cluster, and a watch on one node's store.

Every attack in ``tests/adversarial`` is held to PRODUCT.md §8 the same way: the refusal carries
its stable code, the node's store holds exactly what it held before (its *whole* content, every
table, compared value by value), and the node's audit log gained a record naming the code.  A
verified item that is refused is also recorded in the inbox as ``rejected`` (ADR 0004 §5: a
replay gets the same answer), and answered with a signed negative receipt (ADR 0011: the issued
receipt of the item, and one receipt message to the sender, refusing it with the code): those
are the refusal's own records, and :meth:`Watch.rejected` checks them rather than ignoring them.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, fields
from typing import Any

from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.node.framing import FrameKind, decode
from gsomia.ports import InboxOutcome, ReceiptDirection, Store
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

        With ``inbox``, the other changes allowed are the inbox entry that records the refusal
        of a verified item (outcome ``rejected``, the same codes) and its signed negative receipt
        (ADR 0011): the item's issued receipt, and receipt messages that refuse those items only.
        """
        changed = self.changed()
        if inbox:
            assert changed <= {"inbox", "receipts", "outbox", "seq"}, changed
            after = contents(self.store)
            added = {k: v for k, v in after["inbox"].items() if k not in self.before["inbox"]}
            assert added, "a refused verified item is recorded in the inbox"
            for entry in added.values():
                assert entry.outcome is InboxOutcome.REJECTED
                assert code in entry.reasons
            receipts = [v for k, v in after["receipts"].items() if k not in self.before["receipts"]]
            assert {(r.item_id, r.direction) for r in receipts} <= {
                (i, ReceiptDirection.ISSUED) for i in added
            }
            for key, out in after["outbox"].items():
                if key in self.before["outbox"]:
                    continue
                assert out.message.kind == "receipt", out.message
                frame = decode(out.message.payload)
                assert frame.kind is FrameKind.RECEIPTS
                for line in frame.body.split(b"\n")[3:]:  # the entries: refusals, with the code
                    entry_value = json.loads(line)
                    assert entry_value[0] in added
                    assert entry_value[2] == "refused"
                    assert code in entry_value[4]
        else:
            assert changed == set(), f"the attack left state behind in {sorted(changed)}"
        records = [r for r in self.new_records() if code in r.reasons]
        assert records, f"no audit record names {code}: {self.new_records()}"
        record = records[-1]
        assert record.decision == decision
        if kind is not None:
            assert record.kind is kind
        return record
