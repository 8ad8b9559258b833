"""The ``[tracks]`` section of node.toml: parsed strictly, written back as read."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gsomia.errors import InputError
from gsomia.streaming.link_settings import LinkPartner, LinkSettings, parse_links, split_address

PATH = Path("node.toml")


def test_settings_round_trip_through_toml() -> None:
    settings = LinkSettings(
        ("127.0.0.1", 8641),
        (LinkPartner("JPN", "127.0.0.1:8642", "USA"), LinkPartner("USA", "[::1]:8643")),
    )
    text = "\n".join(settings.to_toml())
    assert parse_links(tomllib.loads(text)["tracks"], PATH) == settings
    assert settings.partner("JPN") == LinkPartner("JPN", "127.0.0.1:8642", "USA")
    assert settings.partner("CHN") is None


def test_no_section_means_no_link() -> None:
    assert not parse_links({}, PATH).enabled
    assert LinkSettings().to_toml() == []


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"listen": True},
        {"port": "8641"},
        {"port": 70000},
        {"host": "bad host!"},
        {"partners": {"party": "JPN"}},
        {"partners": [{"address": "127.0.0.1:1"}]},
        {"partners": [{"party": "jpn"}]},
        {"partners": [{"party": "JPN", "via": "JPN"}]},
        {"partners": [{"party": "JPN", "address": "127.0.0.1"}]},
        {"partners": [{"party": "JPN", "address": 8642}]},
        {"partners": [{"party": "JPN", "key": "x"}]},
        {"partners": [{"party": "JPN"}, {"party": "JPN"}]},
    ],
)
def test_bad_settings_are_refused_naming_the_file(raw: object) -> None:
    with pytest.raises(InputError) as caught:
        parse_links(raw, PATH)
    assert caught.value.code == "CONFIG_INVALID"


def test_addresses_are_host_and_port() -> None:
    assert split_address("127.0.0.1:8642") == ("127.0.0.1", 8642)
    assert split_address("[::1]:1") == ("::1", 1)
    for bad in ("127.0.0.1", "127.0.0.1:0", "host:port", ":80"):
        with pytest.raises(InputError):
            split_address(bad)


def test_with_partner_replaces_a_partner() -> None:
    settings = LinkSettings(None, (LinkPartner("JPN", "127.0.0.1:1"),))
    changed = settings.with_partner(LinkPartner("JPN", "127.0.0.1:2", "USA"))
    assert changed.partners == (LinkPartner("JPN", "127.0.0.1:2", "USA"),)
    with pytest.raises(InputError):
        settings.with_partner(LinkPartner("JPN", via="JPN"))


def test_node_toml_keeps_the_tracks_section(tmp_path: Path) -> None:
    from gsomia.runtime.config import NodeConfig, load_config, save_config  # noqa: PLC0415

    links = LinkSettings(("127.0.0.1", 8641), (LinkPartner("JPN", "127.0.0.1:8642", "USA"),))
    save_config(tmp_path, NodeConfig("KOR", tracks=links))
    assert load_config(tmp_path).tracks == links
    (tmp_path / "node.toml").write_text('party = "KOR"\n[tracks]\nport = "x"\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_config(tmp_path)
    assert caught.value.code == "CONFIG_INVALID"
