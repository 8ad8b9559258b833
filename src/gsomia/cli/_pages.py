"""What the client commands of the cases share: list pages, their options, one answer printed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from gsomia.cli.output import emit_json

__all__ = ["answer", "page_args", "params", "print_page"]


def params(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    """The query of a list command: its page and filters, without the unset ones."""
    out = {"limit": args.limit, "after": args.after, **extra}
    return {k: v for k, v in out.items() if v is not None}


def page_args(p: argparse.ArgumentParser) -> None:
    """``--limit`` and ``--after`` of a list command."""
    p.add_argument("--limit", type=int, default=100, help="page size, 1-1000 (default 100)")
    p.add_argument("--after", help="the cursor printed by the previous page")


def print_page(
    args: argparse.Namespace, page: dict[str, Any], line: Callable[[Any], str], empty: str
) -> int:
    """The page as one JSON document with ``--json``; else a line per entry and the cursor of
    the next page if there is one."""
    if args.json:
        emit_json(page)
        return 0
    for entry in page["items"]:
        print(line(entry))
    if not page["items"]:
        print(empty)
    if page.get("next"):
        print(f"more: --after {page['next']}")
    return 0


def answer(args: argparse.Namespace, result: dict[str, Any], text: str) -> int:
    """The API's answer as one JSON document with ``--json``, else ``text``."""
    if args.json:
        emit_json(result)
    else:
        print(text)
    return 0
