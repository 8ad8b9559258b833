"""``gsomia audit …``: verify a node's audit log, and give inclusion and consistency proofs.

A node keeps its log in ``DATA/audit.sqlite`` (an RFC 9162 Merkle log, see
:mod:`gsomia.adapters.sqlite_audit`).  Proofs and roots are printed in hex.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from gsomia.adapters import keystore_files as ks
from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.audit import merkle
from gsomia.cli.output import Progress, emit_json
from gsomia.errors import InputError, NotFoundError
from gsomia.proofs.notes import check_consistency, checkpoint_of, open_checkpoint, sign_checkpoint
from gsomia.proofs.signed_note import NoteVerifier

AUDIT_FILE = "audit.sqlite"


def open_log(data: Path) -> SqliteAuditLog:
    """The audit log of the node whose data directory is ``data``; it must exist."""
    path = Path(data) / AUDIT_FILE
    if not path.is_file():
        raise NotFoundError(f"no audit log at {path}", code="AUDIT_LOG_NOT_FOUND")
    return SqliteAuditLog(path)


def cmd_verify(args: argparse.Namespace, now: datetime) -> int:
    progress = Progress("verifying", enabled=None if not args.json else False)
    with open_log(args.data) as log:
        result = log.verify(progress=progress)
    progress.close()
    out = {
        "ok": result.ok,
        "size": result.size,
        "root": result.root.hex(),
        "checkpoints_compared": result.checkpoints,
        "problem_count": result.problem_count,
        "problems": [
            {"code": p.code, "index": p.index, "message": p.message} for p in result.problems
        ],
    }
    if args.json:
        emit_json(out)
    elif result.ok:
        print(
            f"audit log OK: {result.size:,} entries, root {result.root.hex()}, "
            f"{result.checkpoints:,} recorded roots match"
        )
    else:
        print(f"audit log FAILED verification: {result.problem_count} problem(s)")
        for p in result.problems:
            print(f"  {p.code:<26} entry {p.index if p.index is not None else '—'}: {p.message}")
    return 0 if result.ok else 8


def cmd_proof(args: argparse.Namespace, now: datetime) -> int:
    with open_log(args.data) as log:
        size = args.size if args.size is not None else log.size()
        if args.old_size is not None:
            proof = log.consistency_proof(args.old_size, size)
            out = {
                "type": "consistency",
                "old_size": args.old_size,
                "size": size,
                "old_root": log.root(args.old_size).hex(),
                "root": log.root(size).hex(),
                "proof": [h.hex() for h in proof],
            }
        elif args.index is not None:
            proof = log.inclusion_proof(args.index, size)
            entry = log.entry(args.index)
            ok = merkle.verify_inclusion(entry, args.index, size, proof, log.root(size))
            out = {
                "type": "inclusion",
                "index": args.index,
                "size": size,
                "leaf_hash": merkle.leaf_hash(entry).hex(),
                "root": log.root(size).hex(),
                "proof": [h.hex() for h in proof],
                "verified": ok,
            }
        else:
            raise InputError("give --index N (inclusion) or --old-size M (consistency)")
    if args.json:
        emit_json(out)
    else:
        for key, value in out.items():
            if key == "proof":
                print("proof:")
                for h in value:
                    print(f"  {h}")
            else:
                print(f"{key}: {value}")
    return 0


def cmd_head(args: argparse.Namespace, now: datetime) -> int:
    with open_log(args.data) as log:
        size = log.size()
        out = {"size": size, "root": log.root().hex()}
    if args.json:
        emit_json(out)
    else:
        print(f"size {size:,}\nroot {out['root']}")
    return 0


def origin_of(party: str) -> str:
    """The C2SP origin (and note key name) of a party's audit log."""
    return f"gsomia/{party}/audit"


def _verifiers(trust_dir: Path) -> list[NoteVerifier]:
    store = ks.load_trust(trust_dir)
    return [
        NoteVerifier.from_record(origin_of(r.party), r) for r in store.records if r.use == "sig"
    ]


def cmd_checkpoint(args: argparse.Namespace, now: datetime) -> int:
    keys = ks.load_keys(args.keys, ks.resolve_passphrase(args.passphrase_file))
    with open_log(args.data) as log:
        size = log.size()
        cp = checkpoint_of(origin_of(keys.party), size, log.root(size))
    note = sign_checkpoint(cp, keys)
    if args.out:
        Path(args.out).write_bytes(note)
    if args.json:
        emit_json(
            {
                "origin": cp.origin,
                "size": cp.size,
                "root": cp.root.hex(),
                "note": note.decode("utf-8"),
                "out": str(args.out) if args.out else None,
            }
        )
    elif not args.out:
        print(note.decode("utf-8"), end="")
    else:
        print(f"checkpoint of {cp.origin} at size {cp.size:,} written to {args.out}")
    return 0


def cmd_check(args: argparse.Namespace, now: datetime) -> int:
    """Verify a partner's signed checkpoint; with --previous and --proof, its consistency."""
    verifiers = _verifiers(args.trust)
    note = Path(args.note).read_bytes()
    cp, signers = open_checkpoint(note, verifiers)
    result: dict[str, Any] = {
        "origin": cp.origin,
        "size": cp.size,
        "root": cp.root.hex(),
        "signers": [s.name for s in signers],
        "consistent": None,
    }
    if args.previous is not None:
        old = Path(args.previous).read_bytes()
        proof: list[bytes] = []
        if args.proof is not None:
            doc = json.loads(Path(args.proof).read_text(encoding="utf-8"))
            proof = [bytes.fromhex(h) for h in doc["proof"]]
        check_consistency(old, note, proof, verifiers)  # raises with the evidence on a fork
        result["consistent"] = True
    if args.json:
        emit_json(result)
    else:
        print(
            f"{cp.origin}: {cp.size:,} entries, root {cp.root.hex()}, signed by "
            f"{', '.join(result['signers'])}"
        )
        if result["consistent"]:
            print("consistent with the previous checkpoint (RFC 9162 §2.1.4)")
    return 0
