"""Which store ``gsomia node init`` creates: ``--store``/``--schema``, the environment, a
``--config`` file, in that order (issue 7 §1; docs/operations.md "PostgreSQL")."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsomia.adapters.postgres_store.connection import describe, has_password
from gsomia.errors import InputError
from gsomia.runtime.channels import StoreSettings
from gsomia.runtime.config import init_store

DSN = "host=/run/pg dbname=gsomia user=gsomia_kor"


def test_the_default_is_sqlite() -> None:
    assert init_store("KOR") == StoreSettings()
    assert init_store("KOR", environ={}) == StoreSettings()


def test_the_command_line_wins_over_the_environment_which_wins_over_the_file(
    tmp_path: Path,
) -> None:
    file = tmp_path / "kor.toml"
    file.write_text('[store]\nkind = "postgres"\ndsn_file = "/etc/gsomia/kor.dsn"\n'
                    'schema = "from_file"\n', encoding="utf-8")  # fmt: skip
    assert init_store("KOR", file=file) == StoreSettings(
        "postgres", None, "/etc/gsomia/kor.dsn", "from_file"
    )
    env = {"GSOMIA_POSTGRES_DSN": DSN, "GSOMIA_POSTGRES_SCHEMA": "from_env"}
    assert init_store("KOR", file=file, environ=env) == StoreSettings(
        "postgres", DSN, None, "from_env"
    )
    assert init_store("KOR", store="postgresql://db2/g", schema="from_cli", file=file,
                      environ=env) == StoreSettings("postgres", "postgresql://db2/g", None,
                                                    "from_cli")  # fmt: skip
    assert init_store("KOR", store="sqlite", file=file, environ=env) == StoreSettings()
    assert init_store("KOR", environ={"GSOMIA_STORE": "postgres", "GSOMIA_POSTGRES_DSN": DSN}) \
        == StoreSettings("postgres", DSN)  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [
        {"schema": "kor"},  # a schema without a PostgreSQL store
        {"environ": {"GSOMIA_STORE": "csv"}},
        {"file": Path("/nonexistent/kor.toml")},
    ],
)
def test_conflicting_or_unreadable_settings_are_config_invalid(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError) as err:
        init_store("KOR", **kwargs)  # type: ignore[arg-type]
    assert err.value.code == "CONFIG_INVALID"


def test_a_dsn_is_described_without_its_secrets_and_checked() -> None:
    where = describe("postgresql://kor:hunter2@db1:5433/gsomia", "gsomia_kor")
    assert where == "postgresql://db1:5433/gsomia schema gsomia_kor"
    assert has_password("postgresql://kor:hunter2@db1:5433/gsomia")
    assert not has_password(DSN)
    for dsn, schema in (("host=db1 password", "gsomia_kor"), (DSN, "Gsomia-KOR"), (DSN, "")):
        with pytest.raises(InputError) as err:
            describe(dsn, schema)
        assert err.value.code == "CONFIG_INVALID"
        assert "hunter2" not in err.value.message
