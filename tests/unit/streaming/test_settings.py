"""The ``[cot]`` section of node.toml: listeners and client certificates, checked and round-tripped."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gsomia.errors import InputError
from gsomia.runtime.config import NodeConfig, load_config, save_config
from gsomia.streaming.settings import CotListener, CotSettings, parse_cot

FP = "ab" * 32


def test_a_config_with_cot_listeners_and_clients_round_trips(tmp_path: Path) -> None:
    cot = (
        CotSettings()
        .with_listener(CotListener("127.0.0.1", 8087, official="kor-radar-1"))
        .with_listener(
            CotListener(
                "0.0.0.0",
                8089,
                cert="tls/s.pem",
                key="tls/s.key",
                client_ca="tls/ca.pem",
            )
        )
        .with_client(FP.upper(), "kor-watch-1")
    )
    save_config(tmp_path, NodeConfig("KOR", cot=cot))
    loaded = load_config(tmp_path)
    assert loaded.cot == cot
    assert loaded.cot.clients == {FP: "kor-watch-1"}
    assert [listener.scheme for listener in loaded.cot.listen] == ["tcp", "tls"]


def test_a_config_without_cot_has_none(tmp_path: Path) -> None:
    save_config(tmp_path, NodeConfig("KOR"))
    assert load_config(tmp_path).cot == CotSettings()
    assert "[cot]" not in (tmp_path / "node.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "text",
    [
        "[cot]\nlisten = 3",
        "[cot]\nother = 1",
        "[[cot.listen]]\nport = 8087",  # neither an official nor TLS
        '[[cot.listen]]\nport = 8087\nofficial = "x"\ncert = "c"\nkey = "k"\nclient_ca = "a"',
        '[[cot.listen]]\nport = 8089\ncert = "c"',  # TLS needs key and client_ca
        '[[cot.listen]]\nport = 70000\nofficial = "x"',
        '[[cot.listen]]\nport = 1\nofficial = "x"\nextra = 1',
        '[cot.clients]\n"not-hex" = "x"',
        f'[cot.clients]\n"{FP}" = 3',
        f'[cot.clients]\n"{FP}" = "bad id!"',
    ],
)
def test_a_wrong_cot_section_is_config_invalid(text: str) -> None:
    raw = tomllib.loads(text).get("cot", {})
    with pytest.raises(InputError) as caught:
        parse_cot(raw, Path("node.toml"))
    assert caught.value.code == "CONFIG_INVALID"
