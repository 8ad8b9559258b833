"""What every command module shares to declare its commands: handler type, argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import TypeAlias

from gsomia.errors import GsomiaError, InstantError
from gsomia.instants import parse_instant
from gsomia.markings import validate_party

__all__ = ["Handler", "Subparsers", "add_command", "instant_arg", "party_arg"]

Handler = Callable[[argparse.Namespace, datetime], int]
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def instant_arg(text: str) -> datetime:
    """An ISO 8601 instant with an offset, for argparse."""
    try:
        return parse_instant(text)
    except InstantError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def party_arg(text: str) -> str:
    """An ISO 3166-1 alpha-3 party code, for argparse."""
    try:
        return validate_party(text.strip())
    except GsomiaError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def add_command(
    sub: Subparsers, name: str, handler: Handler, help_text: str
) -> argparse.ArgumentParser:
    """A subcommand with ``--json`` that runs ``handler(args, now)``."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=handler)
    return parser
