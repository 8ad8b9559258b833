"""``gsomia keys …``, ``gsomia trust …`` and ``gsomia envelope …``.

The passphrase protecting private keys comes from ``GSOMIA_KEY_PASSPHRASE`` or
``--passphrase-file``, never from the command line.  ``envelope seal`` asks the policy first: an
item goes only to parties the agreements in force allow, and is bound to the agreement and table
version the decision relied on.  Outputs are written to a temporary file and renamed into place
only on success, so a failure writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from gsomia.adapters import keystore_files as ks
from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.catalog import builtin_registry
from gsomia.cli.output import emit_json, reason_lines
from gsomia.envelope import EnvelopeError, binding_data_object, open_stream, seal_stream
from gsomia.envelope.item import SealedItem
from gsomia.errors import DeniedError, InputError
from gsomia.instants import format_instant
from gsomia.labels import LabelSet, OriginatorLabel
from gsomia.labels.json_codec import loads as label_loads
from gsomia.labels.json_codec import to_dict as label_to_dict
from gsomia.labels.xml_codec import from_xml
from gsomia.policy import release


def _passphrase(args: argparse.Namespace) -> bytes:
    return ks.resolve_passphrase(args.passphrase_file)


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[IO[bytes]]:
    """Write to a temporary file beside ``path``; rename on success, delete on any failure."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def audit(data: Path | None, record: AuditRecord) -> int | None:
    """Append ``record`` to ``DATA/audit.sqlite`` if a data directory was given; its index."""
    if data is None:
        return None
    Path(data).mkdir(parents=True, exist_ok=True)
    with SqliteAuditLog(Path(data) / "audit.sqlite") as log:
        return log.append(record.to_bytes())


def cmd_keys_init(args: argparse.Namespace, now: datetime) -> int:
    keys = ks.init_keys(args.party, args.dir, _passphrase(args), now)
    bundle = keys.public_bundle()
    result = {
        "party": keys.party,
        "dir": str(args.dir),
        "signing_kid": keys.signing_kid,
        "encryption_kid": keys.agreement_kid,
        "fingerprint": bundle.fingerprint,
    }
    if args.json:
        emit_json(result)
    else:
        print(f"keys for {keys.party} created in {args.dir}")
        print(f"  signing kid     {keys.signing_kid}")
        print(f"  encryption kid  {keys.agreement_kid}")
        print(f"  fingerprint     {bundle.fingerprint}")
        print("Read the fingerprint to each partner's security officer out of band.")
    return 0


def cmd_keys_rotate(args: argparse.Namespace, now: datetime) -> int:
    keys = ks.rotate_keys(args.dir, _passphrase(args), now)
    result = {
        "party": keys.party,
        "signing_kid": keys.signing_kid,
        "encryption_kid": keys.agreement_kid,
        "generations": len(keys.generations),
        "fingerprint": keys.public_bundle().fingerprint,
    }
    if args.json:
        emit_json(result)
    else:
        print(
            f"{keys.party}: new generation {len(keys.generations)} signs and receives from now "
            f"(signing kid {keys.signing_kid}); old public keys still verify old items"
        )
        print(f"  new fingerprint {result['fingerprint']}: export and send it to partners")
    return 0


def cmd_keys_export(args: argparse.Namespace, now: datetime) -> int:
    data = ks.export_public(args.dir)
    if args.out:
        with atomic_output(args.out) as out:
            out.write(data)
    if args.json:
        emit_json({"bundle": json.loads(data), "out": str(args.out) if args.out else None})
    elif args.out:
        print(f"public keys written to {args.out}")
    else:
        print(data.decode("utf-8"))
    return 0


def cmd_trust_add(args: argparse.Namespace, now: datetime) -> int:
    data = Path(args.file).read_bytes()
    store = ks.trust_add(args.dir, data, args.fingerprint)
    parties = sorted(store.parties())
    if args.json:
        emit_json({"trusted_parties": parties})
    else:
        print(f"trusted: {', '.join(parties)}")
    return 0


def cmd_trust_list(args: argparse.Namespace, now: datetime) -> int:
    store = ks.load_trust(args.dir)
    records = [r.to_dict() | {"kid": r.kid, "fingerprint": r.fingerprint} for r in store.records]
    if args.json:
        emit_json({"keys": records})
    else:
        for r in records:
            state = "retired " + r["retired_at"] if r.get("retired_at") else "current"
            print(f"{r['party']}  {r['use']}  {r['kid']}  {state}  {r['fingerprint']}")
    return 0


def read_label(path: Path) -> OriginatorLabel:
    """An originator label from a JSON or STANAG 4774 XML file."""
    data = Path(path).read_bytes()
    if data.lstrip()[:1] == b"<":
        label = from_xml(data)
    else:
        label = (
            label_loads(data, OriginatorLabel)
            if b'"alternatives"' not in data
            else label_loads(data, LabelSet)
        )
    if isinstance(label, LabelSet):
        label = label.originator
    if not isinstance(label, OriginatorLabel):
        raise InputError(f"{path}: expected an originator label", code="LABEL_KIND")
    return label


def cmd_envelope_seal(args: argparse.Namespace, now: datetime) -> int:
    keys = ks.load_keys(args.keys, _passphrase(args))
    trust = ks.load_trust(args.keys)
    label = read_label(args.label)
    if label.originator != keys.party:
        raise DeniedError(
            f"{keys.party} seals only items it originated; {label.originator} "
            "is the originator (a forward needs consent)",
            code="NOT_ORIGINATOR",
        )
    topic = args.topic or (sorted(label.topics)[0] if label.topics else None)
    if topic is None:
        raise InputError("the label names no topic: give --topic")
    registry = builtin_registry()
    item_id = str(uuid.uuid4())
    parties = [p.strip() for p in args.to.split(",") if p.strip()]
    refs = set()
    for party in parties:
        decision = release(registry, label, keys.party, party, topic, now)
        audit(
            args.data,
            AuditRecord(
                AuditKind.RELEASE,
                now,
                keys.signing_kid,
                item_id,
                decision="allow" if decision.allowed else "deny",
                reasons=tuple(str(c) for c in decision.codes),
                agreement=decision.agreement,
                table_version=decision.table_version,
                detail={"recipient": party, "topic": topic},
            ),
        )
        if not decision.allowed or len(decision.path) != 2:
            why = (
                "\n".join(reason_lines(decision.reasons))
                if not decision.allowed
                else "  only a direct release is sealed to a party; a hub route seals to the hub"
            )
            raise DeniedError(
                f"release to {party} refused:\n{why}",
                code="RELEASE_DENIED",
                detail={"party": party, "reasons": [r.to_dict() for r in decision.reasons]},
            )
        refs.add((decision.agreement, decision.table_version))
    if len(refs) != 1:
        raise InputError(
            "these recipients are under different agreements "
            f"({', '.join(sorted(a for a, _ in refs if a))}): seal once per agreement"
        )
    ((agreement, version),) = refs
    assert agreement is not None
    assert version is not None
    recipients = {p: trust.current(p, "enc", now) for p in parties}
    with open(args.input, "rb") as reader, atomic_output(args.out) as writer:
        info = seal_stream(
            reader, writer, label, recipients, (agreement, version), keys, now, item_id
        )
    result = {
        "item_id": info.item_id,
        "originator": info.originator,
        "recipients": list(info.recipients),
        "agreement": agreement,
        "table_version": version,
        "created": format_instant(info.created),
        "seal_digest": info.seal_digest.hex(),
        "out": str(args.out),
    }
    if args.json:
        emit_json(result)
    else:
        print(
            f"sealed {info.item_id} to {', '.join(parties)} under {agreement} v{version} "
            f"→ {args.out}"
        )
    return 0


def cmd_envelope_open(args: argparse.Namespace, now: datetime) -> int:
    keys = ks.load_keys(args.keys, _passphrase(args))
    trust = ks.load_trust(args.keys)
    try:
        with open(args.input, "rb") as reader, atomic_output(args.out) as writer:
            info = open_stream(reader, writer, keys, trust, now)
    except EnvelopeError as err:
        # The precise cause goes to our own audit log only, never to the sender.
        audit(
            args.data,
            AuditRecord(
                AuditKind.REJECT,
                now,
                keys.signing_kid,
                f"file-{Path(args.input).name}"[:120],
                decision="deny",
                reasons=(str(err.cause),),
            ),
        )
        raise
    audit(
        args.data,
        AuditRecord(
            AuditKind.ACCEPT,
            now,
            keys.signing_kid,
            info.item_id,
            decision="allow",
            agreement=info.agreement_ref.agreement_id,
            table_version=info.agreement_ref.table_version,
            detail={
                "sender": info.sender,
                "originator": info.originator,
                "seal_digest": info.seal_digest.hex(),
            },
        ),
    )
    label = info.label
    result: dict[str, Any] = {
        "item_id": info.item_id,
        "originator": info.originator,
        "sender": info.sender,
        "kid": info.kid,
        "created": format_instant(info.created),
        "agreement": info.agreement_ref.agreement_id,
        "table_version": info.agreement_ref.table_version,
        "label": label_to_dict(label),
        "seal_digest": info.seal_digest.hex(),
        "out": str(args.out),
    }
    if args.json:
        emit_json(result)
    else:
        print(
            f"opened {info.item_id} from {info.sender} (originator {info.originator}) → {args.out}"
        )
    return 0


def cmd_envelope_bdo(args: argparse.Namespace, now: datetime) -> int:
    sealed = SealedItem.from_bytes(Path(args.input).read_bytes())
    emit_json(binding_data_object(sealed))
    return 0
