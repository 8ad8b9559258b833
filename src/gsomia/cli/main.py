"""Entry point of the ``gsomia`` command.

Exit codes (stable, for scripts): 0 success (a decision, allowed or not, is a success);
1 internal error; 2 bad input or usage; 3 unknown id (agreement, …); 4 invalid data file;
5 a partner's input rejected.  With ``--json`` every command prints one JSON document on stdout,
and errors print ``{"error": <RFC 9457 problem details>}``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from gsomia import __version__
from gsomia.cli import agreements, decide
from gsomia.cli.output import emit_error
from gsomia.errors import GsomiaError, InstantError
from gsomia.instants import parse_instant
from gsomia.markings import validate_party

Handler = Callable[[argparse.Namespace, datetime], int]


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except InstantError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _party(text: str) -> str:
    try:
        return validate_party(text.strip())
    except GsomiaError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help_text: str,
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=handler)
    return parser


def _what_if(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--with-events",
        type=Path,
        metavar="FILE",
        help="add hypothetical events from FILE (same TOML format as the "
        "built-in agreement data) for what-if analysis",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(
        prog="gsomia",
        description="Exchange classified military information under a GSOMIA, and prove "
        "every rule was kept.",
        epilog="Instants are ISO 8601 with an offset, e.g. 2019-11-22T18:00:00+09:00. "
        "Parties are ISO 3166-1 alpha-3 codes (KOR, JPN, USA).",
    )
    parser.add_argument("--version", action="version", version=f"gsomia {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ags = top.add_parser("agreements", help="the agreements gsomia knows")
    ags_sub = ags.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    _add(ags_sub, "list", agreements.cmd_list, "list agreements with their state now")

    ag = top.add_parser("agreement", help="one agreement: status and history (Art. 21)")
    ag_sub = ag.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = _add(
        ag_sub,
        "status",
        agreements.cmd_status,
        "state, term, next renewal, notice deadline and reasons at an instant",
    )
    p.add_argument("id", help="agreement id, e.g. kor-jpn-gsomia-2016")
    p.add_argument("--at", type=_instant, metavar="INSTANT", help="default: now")
    _what_if(p)
    p = _add(
        ag_sub,
        "history",
        agreements.cmd_history,
        "events, renewals and terminations with the state each produced",
    )
    p.add_argument("id", help="agreement id")
    p.add_argument(
        "--until",
        type=_instant,
        metavar="INSTANT",
        help="list automatic renewals up to this instant (default: now)",
    )
    _what_if(p)

    mk = top.add_parser("markings", help="national schemes and equivalence (Art. 4)")
    mk_sub = mk.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    _add(mk_sub, "schemes", agreements.cmd_schemes, "national marking schemes and their ranks")
    p = _add(
        mk_sub,
        "equivalent",
        agreements.cmd_equivalent,
        "the equivalent marking of a level under an agreement",
    )
    p.add_argument("--agreement", required=True, metavar="ID")
    p.add_argument("--from", dest="from_party", required=True, type=_party, metavar="PARTY")
    p.add_argument("--level", required=True, help="native text, e.g. 군사II급비밀")
    p.add_argument("--to", dest="to_party", required=True, type=_party, metavar="PARTY")
    p.add_argument(
        "--at", type=_instant, metavar="INSTANT", help="use the table in force then (default: now)"
    )
    p.add_argument("--table", type=int, metavar="VERSION", help="use this table version")

    dc = top.add_parser("decide", help="ask the policy a question")
    dc_sub = dc.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = _add(
        dc_sub,
        "release",
        decide.cmd_release,
        "may the originator release an item to a party, and by which path?",
    )
    p.add_argument(
        "--from",
        dest="from_party",
        required=True,
        type=_party,
        metavar="PARTY",
        help="the originating party",
    )
    p.add_argument("--to", dest="to_party", required=True, type=_party, metavar="PARTY")
    p.add_argument("--level", required=True, help="the originator's level, in native text")
    p.add_argument("--topic", required=True, help="topic code, e.g. NK-MISSILE")
    p.add_argument(
        "--rel-to",
        required=True,
        metavar="A,B,C",
        help="Releasable To: comma-separated party codes",
    )
    p.add_argument("--at", type=_instant, metavar="INSTANT", help="default: now")
    p.add_argument("--purpose", help="the official purpose (recorded with the decision)")
    p.add_argument(
        "--agreement",
        metavar="ID",
        help="the agreement --with-events applies to (if the file does not say)",
    )
    _what_if(p)
    return parser


def main(argv: Sequence[str] | None = None, now: datetime | None = None) -> int:
    """Run the CLI; ``now`` can be fixed by tests (the clock is read only here)."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, now or datetime.now(UTC).replace(microsecond=0))
    except GsomiaError as err:
        return emit_error(err, getattr(args, "json", False))
    except BrokenPipeError:  # e.g. `gsomia agreement history … | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
