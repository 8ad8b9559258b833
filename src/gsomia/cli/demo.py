"""``gsomia demo``: the trilateral demo, the README's main command (issue 4 §3).

Interactive (default): a readable account with progress, then the nodes keep serving, with their
API addresses and officials' tokens printed, until Ctrl-C.  ``--headless`` runs to the end and
stops; with ``--json`` it prints one JSON object (``released``, ``delivered``, ``receipts``,
``refused`` with reason codes, ``lost``, ``duplicated``, ``audit_verified`` per node, ``ok``).
Exit 0 when every invariant held, 9 otherwise.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from gsomia.cli._parser import Subparsers, add_command
from gsomia.cli.output import Progress, emit_json
from gsomia.runtime.demo import Demo, DemoError

__all__ = ["add_demo_command"]


def _print_summary(summary: dict[str, Any]) -> None:
    print("\nSummary")
    print(f"  released {summary['released']}, delivered {summary['delivered']}, "
          f"receipts {summary['receipts']}, lost {summary['lost']}, "
          f"duplicated {summary['duplicated']}")  # fmt: skip
    for refusal in summary["refused"]:
        print(f"  refused {refusal['step']}: {', '.join(refusal['codes'])}")
    for party, ok in summary["audit_verified"].items():
        print(f"  {party} audit log {'verifies' if ok else 'FAILS verification'}")
    print("  every invariant held" if summary["ok"] else "  AN INVARIANT FAILED")


def cmd_demo(args: argparse.Namespace, now: datetime) -> int:
    quiet = args.json
    demo = Demo(args.dir, say=(lambda _: None) if quiet else print)
    progress = Progress("scenario", enabled=False if quiet else None)
    try:
        demo.setup()
        demo.run(progress)
        progress.close()
        if args.headless:
            demo.stop()
        summary = demo.verify()
    except BaseException:
        demo.stop()
        raise
    if args.json:
        emit_json(summary)
    else:
        _print_summary(summary)
    if not args.headless:
        _serve_until_interrupted(demo)
    if not summary["ok"]:
        if not args.json:
            print("gsomia: error [DEMO_FAILED]: an invariant failed", file=sys.stderr)
        return DemoError.exit_code
    return 0


def _serve_until_interrupted(demo: Demo) -> None:
    print("\nThe nodes keep serving. Officials' API tokens (sign in to the dashboard with one, "
          "or use it with --node URL and GSOMIA_TOKEN, or curl -H 'Authorization: Bearer …'):")  # fmt: skip
    for party, node in demo.nodes.items():
        print(f"  {party}  API {node.api_url}   dashboard {node.api_url}/web/   data {node.data}")
        for official, token in node.tokens.items():
            print(f"      {official:<16} {token}")
    print("Press Ctrl-C to stop.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        demo.stop()
        print("\nnodes stopped")


def add_demo_command(top: Subparsers) -> None:
    """Register ``gsomia demo``."""
    p = add_command(top, "demo", cmd_demo, "run KOR, JPN and USA nodes through the real history")
    p.add_argument("--dir", type=Path, default=Path("gsomia-demo"), metavar="DIR",
                   help="working directory for the three nodes (default ./gsomia-demo; "
                   "a previous demo there is replaced)")  # fmt: skip
    p.add_argument("--headless", action="store_true", help="run to the end and stop the nodes")
