"""Entry point of the ``gsomia`` command.

Exit codes (stable, for scripts): 0 success (a decision, allowed or not, is a success);
1 internal error; 2 bad input or usage; 3 unknown id (agreement, …); 4 invalid data file;
5 a partner's input rejected (a sealed item that does not verify); 6 store or node unavailable;
7 an act refused (by the policy, or a 401/403 from a node); 8 an audit log that fails
verification; 9 the demo or a node process failed.  With ``--json`` every command prints one JSON
document on stdout, and errors print ``{"error": <RFC 9457 problem details>}``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from gsomia import __version__
from gsomia.cli import agreements, audit, decide, keys
from gsomia.cli._parser import Handler, add_command, instant_arg, party_arg
from gsomia.cli.cases import add_case_commands
from gsomia.cli.demo import add_demo_command
from gsomia.cli.exchange import add_exchange_commands
from gsomia.cli.node import add_node_commands
from gsomia.cli.output import emit_error
from gsomia.cli.tracks import add_tracks_commands
from gsomia.errors import GsomiaError

_instant, _party, _add = instant_arg, party_arg, add_command


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
    p.add_argument("--level", help="the originator's level, in native text")
    p.add_argument("--topic", help="topic code, e.g. NK-MISSILE (default: the label's topic)")
    p.add_argument("--rel-to", metavar="A,B,C", help="Releasable To: comma-separated party codes")
    p.add_argument(
        "--label",
        type=Path,
        metavar="FILE",
        help="take level, Releasable To and topic from an originator label (JSON or "
        "STANAG 4774 XML) instead of --level/--rel-to",
    )
    p.add_argument("--at", type=_instant, metavar="INSTANT", help="default: now")
    p.add_argument("--purpose", help="the official purpose (recorded with the decision)")
    p.add_argument(
        "--agreement",
        metavar="ID",
        help="the agreement --with-events applies to (if the file does not say)",
    )
    _what_if(p)
    _key_commands(top)
    _audit_commands(top)
    add_node_commands(top)
    add_exchange_commands(top)
    add_case_commands(top)
    add_demo_command(top)
    add_tracks_commands(top)
    return parser


def _keydir(parser: argparse.ArgumentParser, flag: str = "--dir") -> None:
    parser.add_argument(
        flag,
        dest="dir" if flag == "--dir" else "keys",
        required=True,
        type=Path,
        metavar="DIR",
        help="the node's key directory",
    )
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="file holding the passphrase (default: $GSOMIA_KEY_PASSPHRASE)",
    )


def _key_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ks = top.add_parser("keys", help="the node's signing and encryption keys")
    sub = ks.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = _add(
        sub,
        "init",
        keys.cmd_keys_init,
        "create a key directory: Ed25519 signing and X25519 encryption keys",
    )
    p.add_argument("--party", required=True, type=_party, metavar="PARTY")
    _keydir(p)
    p = _add(
        sub,
        "rotate",
        keys.cmd_keys_rotate,
        "start a new key generation; old public keys still verify old items",
    )
    _keydir(p)
    p = _add(
        sub,
        "export",
        keys.cmd_keys_export,
        "print (or write) the public key bundle to send to partners",
    )
    p.add_argument("--dir", required=True, type=Path, metavar="DIR")
    p.add_argument("--out", type=Path, metavar="FILE")

    tr = top.add_parser("trust", help="partners' public keys")
    sub = tr.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = _add(
        sub,
        "add",
        keys.cmd_trust_add,
        "trust a partner's bundle after comparing its fingerprint out of band",
    )
    p.add_argument("--dir", required=True, type=Path, metavar="DIR")
    p.add_argument("--file", required=True, type=Path, metavar="BUNDLE")
    p.add_argument(
        "--fingerprint", required=True, help="the fingerprint the partner's officer read to you"
    )
    p = _add(sub, "list", keys.cmd_trust_list, "list trusted keys")
    p.add_argument("--dir", required=True, type=Path, metavar="DIR")

    env = top.add_parser("envelope", help="seal and open items (label-bound, encrypted, signed)")
    sub = env.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = _add(
        sub,
        "seal",
        keys.cmd_envelope_seal,
        "seal a file to partner nodes, if the policy allows each of them now",
    )
    _keydir(p, "--keys")
    p.add_argument(
        "--label",
        required=True,
        type=Path,
        metavar="LABEL",
        help="originator label: JSON or STANAG 4774 XML",
    )
    p.add_argument("--to", required=True, metavar="PARTY[,PARTY]")
    p.add_argument("--in", dest="input", required=True, type=Path, metavar="FILE")
    p.add_argument("--out", required=True, type=Path, metavar="FILE")
    p.add_argument("--topic", help="topic of the release (default: the label's topic)")
    p.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="node data directory: record the decisions in DIR/audit.sqlite",
    )
    p = _add(
        sub,
        "open",
        keys.cmd_envelope_open,
        "verify and decrypt a sealed item; nothing is written unless all of it verifies",
    )
    _keydir(p, "--keys")
    p.add_argument("--in", dest="input", required=True, type=Path, metavar="FILE")
    p.add_argument("--out", required=True, type=Path, metavar="FILE")
    p.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="node data directory: record acceptance or rejection (with its cause) "
        "in DIR/audit.sqlite",
    )
    p = _add(
        sub,
        "bdo",
        keys.cmd_envelope_bdo,
        "print the label binding as a STANAG 4778 binding data object (JSON)",
    )
    p.add_argument("--in", dest="input", required=True, type=Path, metavar="FILE")


def _audit_commands(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    au = top.add_parser("audit", help="the node's tamper-evident audit log (RFC 9162)")
    sub = au.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = _add(
        sub,
        "verify",
        audit.cmd_verify,
        "recompute every leaf and root of the log (exit 8 if it does not verify)",
    )
    p.add_argument("--data", required=True, type=Path, metavar="DIR")
    p = _add(sub, "proof", audit.cmd_proof, "inclusion (--index) or consistency (--old-size) proof")
    p.add_argument("--data", required=True, type=Path, metavar="DIR")
    p.add_argument("--index", type=int, metavar="N")
    p.add_argument("--old-size", type=int, metavar="M")
    p.add_argument("--size", type=int, metavar="S", help="tree size (default: current)")
    p = _add(sub, "head", audit.cmd_head, "current size and root of the log")
    p.add_argument("--data", required=True, type=Path, metavar="DIR")
    p = _add(
        sub,
        "checkpoint",
        audit.cmd_checkpoint,
        "sign a checkpoint of the log (C2SP signed note) to send to partners",
    )
    p.add_argument("--data", required=True, type=Path, metavar="DIR")
    _keydir(p, "--keys")
    p.add_argument("--out", type=Path, metavar="FILE")
    p = _add(
        sub,
        "check",
        audit.cmd_check,
        "verify a partner's signed checkpoint and that it extends the previous one "
        "(a rewritten or forked log is caught)",
    )
    p.add_argument("--note", required=True, type=Path, metavar="FILE")
    p.add_argument(
        "--trust",
        required=True,
        type=Path,
        metavar="DIR",
        help="key directory whose trust store holds the partner's keys",
    )
    p.add_argument("--previous", type=Path, metavar="FILE", help="the last checkpoint accepted")
    p.add_argument(
        "--proof",
        type=Path,
        metavar="FILE",
        help="consistency proof (JSON of `gsomia audit proof --old-size`)",
    )


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
