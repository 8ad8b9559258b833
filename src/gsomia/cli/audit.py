"""``gsomia audit …``: verify a node's audit log, and give inclusion and consistency proofs.

A node keeps its log in ``DATA/audit.sqlite`` (an RFC 9162 Merkle log, see
:mod:`gsomia.adapters.sqlite_audit`).  Proofs and roots are printed in hex.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.audit import merkle
from gsomia.cli.output import Progress, emit_json
from gsomia.errors import InputError, NotFoundError

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
