"""Connection arguments of the CLI's client commands: which node, which token.

``gsomia release``, ``inbox``, ``outbox``, ``read``, ``officials …``, ``consent …`` and
``breach …`` speak HTTP to a node (:mod:`gsomia.runtime.client`), as any integrator would,
authenticated by the official's API token.  Where the node is: ``--node URL``, else
``$GSOMIA_NODE``, else the ``[api]`` of ``--data DIR``'s ``node.toml``.  The token:
``--token-file FILE``, else ``$GSOMIA_TOKEN`` (never an argument: ``ps`` would show it).
Problems answered by the node exit 2, 3, 6 or 7 (:func:`gsomia.runtime.client.api_error`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Final

from gsomia.errors import InputError
from gsomia.runtime.client import ApiClient
from gsomia.runtime.config import load_config

__all__ = ["client_for", "connection_args"]

NODE_ENV: Final = "GSOMIA_NODE"
TOKEN_ENV: Final = "GSOMIA_TOKEN"  # noqa: S105 (a variable's name, not a secret)


def connection_args(parser: argparse.ArgumentParser) -> None:
    """``--node``, ``--data`` and ``--token-file`` for a client command."""
    parser.add_argument("--node", metavar="URL", help=f"the node's API (default: ${NODE_ENV})")
    parser.add_argument(
        "--data", type=Path, metavar="DIR", help="take the API address from this node's node.toml"
    )
    parser.add_argument(
        "--token-file", type=Path, metavar="FILE", help=f"API token file (default: ${TOKEN_ENV})"
    )


def client_for(args: argparse.Namespace) -> ApiClient:
    """The client the connection arguments (or the environment) name."""
    url = args.node or os.environ.get(NODE_ENV)
    if not url and args.data is not None:
        url = load_config(args.data).api_url
    if not url:
        raise InputError(f"which node? give --node URL, --data DIR or set ${NODE_ENV}")
    if args.token_file is not None:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(f"cannot read {args.token_file}: {exc.strerror}") from None
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise InputError(f"no API token: give --token-file FILE or set ${TOKEN_ENV}")
    return ApiClient(url, token)
