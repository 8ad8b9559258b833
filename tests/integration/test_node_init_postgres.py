"""``gsomia node init`` on PostgreSQL, then ``gsomia node serve`` on it (issue 7 §1; ADR 0008).

The real CLI in subprocesses against the session's private PostgreSQL: ``--store DSN``, the
``GSOMIA_STORE`` / ``GSOMIA_POSTGRES_*`` environment, and a ``--config`` file with ``data`` and
``[store] dsn_file``.  A wrong DSN, a server that does not answer, a missing database, a DSN with
a password and a schema that already holds a node each fail with a stable code and exit status
and leave nothing: no data directory, no schema, no tables.  A failure after the schema was made
drops it again (or empties a schema a DBA made).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gsomia.errors import GsomiaError
from gsomia.policy import Official
from gsomia.ports import OfficialRecord, Role
from gsomia.runtime.channels import StoreSettings
from gsomia.runtime.client import ApiClient
from gsomia.runtime.config import RUN_FILE, load_config
from gsomia.runtime.setup import init_node
from tests.private_nats import free_port
from tests.private_postgres import PrivatePostgres

pytestmark = pytest.mark.integration

PASSPHRASE = "correct horse battery staple, for a test"


def gsomia(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """Run ``gsomia ARGS --json``; its exit status and JSON output."""
    environ = {**os.environ, "GSOMIA_KEY_PASSPHRASE": PASSPHRASE, **(env or {})}
    for name in ("GSOMIA_STORE", "GSOMIA_POSTGRES_DSN", "GSOMIA_POSTGRES_SCHEMA"):
        if env is None or name not in env:
            environ.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "gsomia.cli.main", *args, "--json"],
        capture_output=True, env=environ, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout or b"{}")


def tables_in(dsn: str, schema: str) -> set[str] | None:
    """The tables of ``schema`` in the database of ``dsn``; None if the schema is absent."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if (
            conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
            is None
        ):
            return None
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') UNION ALL SELECT p.proname FROM "
            "pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s",
            (schema, schema),
        ).fetchall()
    return {r[0] for r in rows}


def serve(data: Path) -> subprocess.Popen[bytes]:
    """``gsomia node serve --data DATA``, once it serves."""
    environ = {**os.environ, "GSOMIA_KEY_PASSPHRASE": PASSPHRASE}
    environ.pop("GSOMIA_STORE", None)
    with open(data / "node.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gsomia.cli.main", "node", "serve", "--data", str(data)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environ,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (data / "node.log").read_text(encoding="utf-8")
        if (data / RUN_FILE).exists():
            return process
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the node did not start")


def test_init_on_postgresql_then_serve_on_it(tmp_path: Path, postgres: PrivatePostgres) -> None:
    dsn = postgres.new_database("init")
    data = tmp_path / "kor"
    status, out = gsomia("node", "init", "--party", "KOR", "--data", str(data), "--store", dsn)
    assert status == 0, out
    assert out["store"] == {"kind": "postgres", "schema": "gsomia_kor"}
    config = load_config(data)
    assert (config.store.kind, config.store.dsn) == ("postgres", dsn)
    assert not (data / "node.sqlite").exists()
    assert {"schema_version", "officials", "audit_entries"} <= (
        tables_in(dsn, "gsomia_kor") or set()
    )
    process = serve(data)
    try:
        run = json.loads((data / RUN_FILE).read_text(encoding="utf-8"))
        client = ApiClient(run["api"], out["token"])
        officials = client.json("GET", "/v1/officials")["items"]
        assert [o["id"] for o in officials] == ["kor-security-officer"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert not (data / "node.sqlite").exists()  # it served from PostgreSQL
    with psycopg.connect(dsn, autocommit=True) as conn:  # what the node did, it did in PostgreSQL
        row = conn.execute("SELECT count(*) FROM gsomia_kor.audit_entries").fetchone()
    assert row is not None
    assert row[0] >= 1  # the first officer's enrolment, at least


def test_init_reads_the_environment_and_a_config_file(
    tmp_path: Path, postgres: PrivatePostgres
) -> None:
    dsn = postgres.new_database("initenv")
    env = {"GSOMIA_STORE": "postgres", "GSOMIA_POSTGRES_DSN": dsn,
           "GSOMIA_POSTGRES_SCHEMA": "jpn_from_env"}  # fmt: skip
    status, out = gsomia("node", "init", "--party", "JPN", "--data", str(tmp_path / "jpn"), env=env)
    assert status == 0, out
    assert out["store"] == {"kind": "postgres", "schema": "jpn_from_env"}
    assert load_config(tmp_path / "jpn").store.schema == "jpn_from_env"
    assert "officials" in (tables_in(dsn, "jpn_from_env") or set())

    secret = tmp_path / "usa.dsn"
    secret.write_text(dsn + "\n", encoding="utf-8")
    file = tmp_path / "usa.toml"
    file.write_text(f'data = "{tmp_path / "usa"}"\n[store]\nkind = "postgres"\n'
                    f'dsn_file = "{secret}"\n', encoding="utf-8")  # fmt: skip
    status, out = gsomia("node", "init", "--party", "USA", "--config", str(file))
    assert status == 0, out
    assert out["data"] == str(tmp_path / "usa")
    saved = load_config(tmp_path / "usa").store
    assert (saved.kind, saved.dsn, saved.dsn_file) == ("postgres", None, str(secret))
    assert "officials" in (tables_in(dsn, "gsomia_usa") or set())


@pytest.mark.parametrize(
    ("case", "code", "status"),
    [
        ("unreachable", "STORE_UNAVAILABLE", 6),
        ("no database", "STORE_UNAVAILABLE", 6),
        ("unparsable", "CONFIG_INVALID", 2),
        ("password", "CONFIG_INVALID", 2),
        ("bad schema", "CONFIG_INVALID", 2),
    ],
)
def test_a_wrong_store_fails_cleanly_and_leaves_nothing(
    tmp_path: Path, postgres: PrivatePostgres, case: str, code: str, status: int
) -> None:
    dsn = postgres.new_database("wrong")
    store, schema = {
        "unreachable": (
            f"host=127.0.0.1 port={free_port()} dbname=x connect_timeout=2",
            "gsomia_kor",
        ),
        "no database": (postgres.dsn.replace("/postgres?", "/no_such_database?"), "gsomia_kor"),
        "unparsable": ("host=db1 port", "gsomia_kor"),
        "password": (f"{dsn} password=hunter2", "gsomia_kor"),
        "bad schema": (dsn, "Robert'); DROP TABLE x;--"),
    }[case]
    data = tmp_path / "kor"
    got, out = gsomia("node", "init", "--party", "KOR", "--data", str(data), "--store", store,
                      "--schema", schema)  # fmt: skip
    assert (got, out["error"]["code"]) == (status, code), out
    assert "hunter2" not in json.dumps(out)
    assert not data.exists()
    assert tables_in(dsn, "gsomia_kor") is None


def test_a_schema_that_holds_a_node_is_never_overwritten(
    tmp_path: Path, postgres: PrivatePostgres
) -> None:
    dsn = postgres.new_database("exists")
    assert gsomia("node", "init", "--party", "KOR", "--data", str(tmp_path / "a"),
                  "--store", dsn)[0] == 0  # fmt: skip
    before = tables_in(dsn, "gsomia_kor")
    with psycopg.connect(dsn) as conn:
        officials = conn.execute("SELECT count(*) FROM gsomia_kor.officials").fetchone()
    status, out = gsomia("node", "init", "--party", "KOR", "--data", str(tmp_path / "b"),
                         "--store", dsn)  # fmt: skip
    assert (status, out["error"]["code"]) == (2, "NODE_EXISTS"), out
    assert not (tmp_path / "b").exists()
    assert tables_in(dsn, "gsomia_kor") == before
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM gsomia_kor.officials").fetchone() == officials


@pytest.mark.parametrize("dba_made_it", [False, True])
def test_a_failure_after_the_schema_was_made_leaves_no_half_schema(
    tmp_path: Path, postgres: PrivatePostgres, dba_made_it: bool
) -> None:
    """The first officer is refused once keys, node.toml and the schema exist: all are undone
    (a schema a DBA made stays, empty)."""
    dsn = postgres.new_database("half")
    if dba_made_it:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA gsomia_kor")
    reader = OfficialRecord(Official("kor-reader", "KOR", "군사II급비밀", frozenset(), True),
                            frozenset({Role.READER}))  # fmt: skip
    with pytest.raises(GsomiaError) as err:
        init_node(tmp_path / "kor", "KOR", PASSPHRASE.encode(),
                  datetime.now(UTC) - timedelta(days=1), officer=reader, log2_n=14,
                  store=StoreSettings("postgres", dsn))  # fmt: skip
    assert err.value.code == "NODE_BOOTSTRAP_INVALID"
    assert not (tmp_path / "kor").exists()
    assert tables_in(dsn, "gsomia_kor") == (set() if dba_made_it else None)
