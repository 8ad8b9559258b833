"""``gsomia node cot listen|client``: CoT listeners and client certificates of a node (issue 5).

``listen`` adds a ``[[cot.listen]]`` to ``DATA/node.toml``: plain TCP acting as one official
(``--official``; loopback by default), or TLS with client certificates (``--cert``, ``--key``,
``--client-ca``, paths relative to DATA).  ``client`` maps a client certificate (PEM) to an
official of this node: its SHA-256 fingerprint goes into ``[cot.clients]``.  The serving node
reads both when it starts (docs/operations.md, "Tracks and CoT/TAK").
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gsomia.cli._parser import Subparsers, add_command
from gsomia.cli.output import emit_json
from gsomia.errors import InputError
from gsomia.runtime.config import NodeConfig, load_config, save_config
from gsomia.streaming.settings import CotListener, CotSettings, fingerprint_of

__all__ = ["add_cot_commands"]


def cmd_listen(args: argparse.Namespace, now: datetime) -> int:
    config = load_config(args.data)
    listener = CotListener(
        args.host,
        args.port,
        official=args.official,
        cert=args.cert,
        key=args.key,
        client_ca=args.client_ca,
    )
    config = replace_cot(config, config.cot.with_listener(listener))
    save_config(args.data, config)
    out = {
        "scheme": listener.scheme,
        "host": listener.host,
        "port": listener.port,
        "official": listener.official,
    }
    if args.json:
        emit_json(out)
    else:
        who = f"as {listener.official}" if listener.official else "with client certificates"
        print(f"CoT {listener.scheme} listener on {listener.host}:{listener.port} {who}")
    return 0


def cmd_client(args: argparse.Namespace, now: datetime) -> int:
    try:
        cert = x509.load_pem_x509_certificate(Path(args.cert).read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read a PEM certificate from {args.cert}: {exc}", code="CERTIFICATE_INVALID"
        ) from None
    fingerprint = fingerprint_of(cert.public_bytes(Encoding.DER))
    config = load_config(args.data)
    config = replace_cot(config, config.cot.with_client(fingerprint, args.official))
    save_config(args.data, config)
    if args.json:
        emit_json(
            {
                "fingerprint": fingerprint,
                "official": args.official,
                "subject": cert.subject.rfc4514_string(),
            }
        )
    else:
        print(f"{cert.subject.rfc4514_string()} ({fingerprint}) acts as {args.official}")
    return 0


def replace_cot(config: NodeConfig, cot: CotSettings) -> NodeConfig:
    """``config`` with its ``[cot]`` section replaced."""
    return replace(config, cot=cot)


def add_cot_commands(sub: Subparsers) -> None:
    """Register ``gsomia node cot …`` under ``gsomia node``."""
    cot = sub.add_parser("cot", help="CoT/TAK listeners and client certificates")
    cot_sub = cot.add_subparsers(dest="cot_sub", metavar="SUBCOMMAND", required=True)
    p = add_command(cot_sub, "listen", cmd_listen, "add a CoT listener (plain or TLS)")
    p.add_argument("--data", required=True, type=Path, metavar="DIR", help="data directory")
    p.add_argument("--host", default="127.0.0.1", help="address (default loopback)")
    p.add_argument("--port", type=int, default=8087, help="port (TAK: 8087 plain, 8089 TLS)")
    p.add_argument("--official", help="plain TCP: the official every connection acts as")
    p.add_argument("--cert", help="TLS: the server certificate chain (PEM, relative to DATA)")
    p.add_argument("--key", help="TLS: the server key (PEM, relative to DATA)")
    p.add_argument("--client-ca", help="TLS: the CA of the client certificates (PEM)")
    p = add_command(cot_sub, "client", cmd_client, "map a client certificate to an official")
    p.add_argument("--data", required=True, type=Path, metavar="DIR", help="data directory")
    p.add_argument("--cert", required=True, type=Path, help="the client's certificate (PEM)")
    p.add_argument("--official", required=True, help="the official of this node it acts as")
