"""``gsomia node init|serve|peer add|info``: set up and run a national node (issue 4 §3)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

from gsomia.adapters.clock import ScenarioClock
from gsomia.adapters.keystore_files import export_public, resolve_passphrase
from gsomia.cli._parser import Subparsers, add_command, party_arg
from gsomia.cli.node_cot import add_cot_commands
from gsomia.cli.output import emit_json
from gsomia.errors import InputError
from gsomia.runtime import heap
from gsomia.runtime.api_worker import MAX_API_WORKERS, serve_api_worker
from gsomia.runtime.config import KEYS_DIR, RUN_FILE, data_dir_of, init_store, load_config
from gsomia.runtime.host import NodeHost
from gsomia.runtime.setup import add_peer, init_node

__all__ = ["add_node_commands"]


def _passphrase(args: argparse.Namespace) -> bytes:
    return resolve_passphrase(args.passphrase_file)


def cmd_init(args: argparse.Namespace, now: datetime) -> int:
    data = args.data or (data_dir_of(args.config) if args.config else None)
    if data is None:
        raise InputError('give --data DIR, or data = "DIR" in the --config file',
                         code="CONFIG_MISSING")  # fmt: skip
    store = init_store(args.party, store=args.store, schema=args.schema, file=args.config,
                       environ=os.environ)  # fmt: skip
    result = init_node(
        data,
        args.party,
        _passphrase(args),
        now,
        host=args.host,
        api_port=args.api_port,
        channel_port=args.channel_port,
        store=store,
    )
    c = result.config
    schema = c.store.schema or f"gsomia_{c.party.lower()}"
    out = {
        "party": c.party,
        "data": str(data),
        "api": c.api_url,
        "channel": c.channel_url,
        "store": {
            "kind": c.store.kind,
            **({"schema": schema} if c.store.kind == "postgres" else {}),
        },
        "official": result.officer.official.id,
        "token": result.token,
        "fingerprint": result.fingerprint,
    }
    if args.json:
        emit_json(out)
    else:
        print(f"{c.party} node created in {data}")
        print(f"  API      {c.api_url}   channel  {c.channel_url}")
        if c.store.kind == "postgres":
            print(f"  store    PostgreSQL, schema {schema} (node.toml [store])")
        print(f"  key fingerprint  {result.fingerprint}  (read it to partners out of band)")
        print(f"  security officer {out['official']}; API token, shown only now:")
        print(f"    {result.token}")
        print(f"Next: gsomia node peer add …, then gsomia node serve --data {data}")
    return 0


def cmd_serve(args: argparse.Namespace, now: datetime) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    clock = None if args.scenario_clock is None else ScenarioClock(args.scenario_clock)
    if clock is not None:
        logging.getLogger("gsomia.node").warning(
            "SCENARIO CLOCK %s: for demos and drills only, never in service", args.scenario_clock
        )
    data = args.data or (data_dir_of(args.config) if args.config else None)
    if data is None:
        raise InputError('give --data DIR, or data = "DIR" in the --config file',
                         code="CONFIG_MISSING")  # fmt: skip
    worker_arguments: list[str] = []  # what an API worker needs to open the same node
    if args.config is not None:
        worker_arguments += ["--config", str(args.config)]
    if args.scenario_clock is not None:
        worker_arguments += ["--scenario-clock", str(args.scenario_clock)]
    host = NodeHost(
        data,
        _passphrase(args),
        clock=clock,
        config_file=args.config,
        api_workers=args.api_workers,
        worker_arguments=worker_arguments,
    )
    if args.json:
        emit_json({"party": host.config.party, "api": host.config.api_url,
                   "channel": host.config.channel_url, "transport": host.config.transport,
                   "store": host.config.store.kind, "api_workers": args.api_workers})  # fmt: skip
    heap.settle()  # everything is loaded: out of the collector's way (ADR 0023)
    host.serve_forever()
    return 0


def cmd_api_worker(args: argparse.Namespace, now: datetime) -> int:
    """One API worker process of a serving node (started by ``node serve --api-workers``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    clock = None if args.scenario_clock is None else ScenarioClock(args.scenario_clock)
    data = args.data or (data_dir_of(args.config) if args.config else None)
    if data is None:
        raise InputError("give --data DIR", code="CONFIG_MISSING")
    passphrase = sys.stdin.buffer.read()  # the serving process writes it, then closes
    serve_api_worker(
        data,
        passphrase,
        listen_fd=args.listen_fd,
        wake_fd=args.wake_fd,
        parent=args.parent,
        clock=clock,
        config_file=args.config,
    )
    return 0


def cmd_peer_add(args: argparse.Namespace, now: datetime) -> int:
    bundle = Path(args.keys_file).read_bytes()
    config = add_peer(args.data, args.party, args.url, bundle, args.fingerprint)
    if args.json:
        emit_json({"party": config.party, "peers": dict(config.peers)})
    else:
        print(f"{config.party} trusts {args.party}'s keys and sends to it at {args.url}")
    return 0


def cmd_info(args: argparse.Namespace, now: datetime) -> int:
    config = load_config(args.data)
    run = Path(args.data) / RUN_FILE
    serving = json.loads(run.read_text(encoding="utf-8")) if run.exists() else None
    bundle = json.loads(export_public(Path(args.data) / KEYS_DIR))
    out = {
        "party": config.party,
        "api": config.api_url,
        "channel": config.channel_url,
        "peers": dict(config.peers),
        "serving": serving,
        "keys": bundle,
    }
    if args.json:
        emit_json(out)
    else:
        state = f"serving (pid {serving['pid']})" if serving else "not serving"
        print(f"{config.party} node in {args.data}: {state}")
        print(f"  API {config.api_url}   channel {config.channel_url}")
        for party, url in sorted(config.peers.items()):
            print(f"  peer {party} at {url}")
    return 0


def add_node_commands(top: Subparsers) -> None:
    """Register ``gsomia node …`` on the top-level parser."""
    add, party_type = add_command, party_arg
    nd = top.add_parser("node", help="set up and run a national node")
    sub = nd.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)

    def data(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", required=True, type=Path, metavar="DIR", help="data directory")

    def passphrase(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--passphrase-file",
            type=Path,
            metavar="FILE",
            help="file holding the key passphrase (default: $GSOMIA_KEY_PASSPHRASE)",
        )

    p = add(sub, "init", cmd_init, "create a node: keys, configuration, store, first officer")
    p.add_argument("--party", required=True, type=party_type, metavar="PARTY")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="data directory (default: data = … in the --config file)")  # fmt: skip
    passphrase(p)
    p.add_argument(
        "--store",
        metavar="DSN",
        help="the store: sqlite (default: DATA/node.sqlite) or a PostgreSQL DSN, "
        "postgresql://user@host/db or 'host=… dbname=…', without a password (~/.pgpass, "
        "PGPASSWORD or dsn_file); the schema and tables are created there and node.toml "
        "points at them.  Default: the [store] of --config, then GSOMIA_STORE and "
        "GSOMIA_POSTGRES_DSN (docs/operations.md)",
    )
    p.add_argument("--schema", metavar="NAME",
                   help="PostgreSQL schema of the node (default gsomia_<party>)")  # fmt: skip
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="a node serve --config file: its data and [store] are used")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--api-port", type=int, default=0, help="REST API port (default: a free one)")
    p.add_argument("--channel-port", type=int, default=0, help="channel port (default: free)")
    p = add(sub, "serve", cmd_serve, "serve the REST API and the channel until Ctrl-C")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="data directory (default: data = … in the --config file)")  # fmt: skip
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="configuration file instead of DATA/node.toml: store (sqlite | postgres) and "
        "channel (http | nats); GSOMIA_* variables override it (docs/operations.md)",
    )
    passphrase(p)
    p.add_argument(
        "--scenario-clock",
        type=Path,
        metavar="FILE",
        help="demos and drills only: read the current instant from FILE (time flows on from "
        "when it was written) instead of the system clock",
    )
    p.add_argument(
        "--api-workers",
        type=int,
        default=0,
        choices=range(MAX_API_WORKERS + 1),
        metavar="N",
        help="also serve the REST API from N worker processes, each on its own address listed "
        "in run/node.json (api_workers): releases from their clients run on other cores "
        f"(0-{MAX_API_WORKERS}, default 0; docs/operations.md, ADR 0021)",
    )
    # Started by `node serve --api-workers` only: the passphrase comes on standard input.
    p = sub.add_parser(
        "api-worker", help="internal: one API worker process, started by serve --api-workers"
    )
    p.set_defaults(handler=cmd_api_worker, json=False)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--config", type=Path)
    p.add_argument("--scenario-clock", type=Path)
    p.add_argument("--listen-fd", type=int, required=True)
    p.add_argument("--wake-fd", type=int, required=True)
    p.add_argument("--parent", type=int, required=True)
    p = add(sub, "info", cmd_info, "the node's addresses, peers, keys and whether it serves")
    data(p)
    add_cot_commands(sub)  # issue 5: CoT listeners and client certificates
    peer = sub.add_parser("peer", help="partners' nodes")
    peer_sub = peer.add_subparsers(dest="peer_sub", metavar="SUBCOMMAND", required=True)
    p = add(peer_sub, "add", cmd_peer_add, "trust a partner's keys and record its address")
    data(p)
    p.add_argument("--party", required=True, type=party_type, metavar="PARTY")
    p.add_argument("--url", required=True, help="the partner's channel, http://host:port")
    p.add_argument("--keys-file", required=True, type=Path, metavar="FILE",
                   help="the partner's exported public keys (gsomia keys export)")  # fmt: skip
    p.add_argument("--fingerprint", required=True, help="the fingerprint read to you out of band")
