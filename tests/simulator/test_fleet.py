"""Fleet files: what a user writes, and the one-line errors for what they get wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.fleet import SEED_FLEET, FleetError, generated, load_fleet


def write(tmp_path: Path, text: str, name: str = "fleet.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_seed_fleet_is_five_stations_rated_as_the_guide_lists_them() -> None:
    """3 x 100 kW + 2 x 50 kW is 400 kW; the guide's scenario 4 says 350 kW together, which
    its own ratings contradict (one of the two must give; the ratings are kept)."""
    assert len(SEED_FLEET) == 5
    assert sum(spec.max_power_kw for spec in SEED_FLEET) == 400.0
    assert SEED_FLEET[0].serial_number == "SN-emart_jeju_01-001"


def test_generated_fleets_have_unique_ids() -> None:
    fleet = generated(1000)
    assert len({spec.id for spec in fleet}) == 1000
    with pytest.raises(FleetError, match="--count"):
        generated(0)


def test_a_fleet_file_is_read_with_defaults(tmp_path: Path) -> None:
    fleet = load_fleet(
        write(
            tmp_path,
            '[[station]]\nid = "CS-1"\nmax_power_kw = 22\n\n'
            '[[station]]\nid = "CS-2"\nmax_power_kw = 150.5\nevses = 2\n'
            'password = "s"\nprofile = "skips-seqno"\n',
        )
    )
    assert [(s.id, s.max_power_kw, s.evses, s.profile) for s in fleet] == [
        ("CS-1", 22.0, 1, "compliant"),
        ("CS-2", 150.5, 2, "skips-seqno"),
    ]
    assert fleet[0].vendor == "EMART" and fleet[1].password == "s"


def test_a_mixed_fleet_names_each_station_s_protocol(tmp_path: Path) -> None:
    """A station without `protocol` speaks the one `simulate --protocol` gives."""
    path = write(
        tmp_path,
        '[[station]]\nid = "OLD"\nmax_power_kw = 22\nprotocol = "ocpp1.6"\n\n'
        '[[station]]\nid = "NEW"\nmax_power_kw = 22\nprotocol = "ocpp2.1"\n\n'
        '[[station]]\nid = "ANY"\nmax_power_kw = 22\n',
    )
    assert [s.protocol for s in load_fleet(path)] == ["ocpp1.6", "ocpp2.1", "ocpp2.0.1"]
    assert [s.protocol for s in load_fleet(path, "ocpp1.6")] == ["ocpp1.6", "ocpp2.1", "ocpp1.6"]
    assert {s.protocol for s in generated(3, protocol="ocpp2.1")} == {"ocpp2.1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not TOML"),
        ("title = 'x'", "no stations"),
        ('[[station]]\nid = "A"\n', "max_power_kw"),
        ('[[station]]\nid = "A"\nmax_power_kw = 0\n', "max_power_kw"),
        ('[[station]]\nid = "a/b"\nmax_power_kw = 5\n', "id must be"),
        ('[[station]]\nid = "A"\nmax_power_kw = 5\nprofile = "rude"\n', "profile 'rude'"),
        ('[[station]]\nid = "A"\nmax_power_kw = 5\ncolour = 1\n', "unknown field 'colour'"),
        ('[[station]]\nid = "A"\nmax_power_kw = 5\nevses = 9\n', "evses"),
        ('[[station]]\nid = "A"\nmax_power_kw = 5\nprotocol = "ocpp2.0"\n', "protocol 'ocpp2.0'"),
        (
            '[[station]]\nid = "A"\nmax_power_kw = 5\nprotocol = "ocpp1.6"\nprofile = "skips-seqno"\n',
            "profile 'skips-seqno' does not apply to ocpp1.6",
        ),
        (
            '[[station]]\nid = "A"\nmax_power_kw = 5\n[[station]]\nid = "A"\nmax_power_kw = 5\n',
            "appears twice",
        ),
    ],
)
def test_bad_fleet_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(FleetError, match=message) as raised:
        load_fleet(write(tmp_path, text))
    assert "\n" not in str(raised.value)
    assert str(tmp_path) in str(raised.value)


def test_a_yaml_fleet_file_says_the_same_as_toml(tmp_path: Path) -> None:
    toml = load_fleet(
        write(
            tmp_path,
            '[[station]]\nid = "CS-1"\nmax_power_kw = 22\n\n'
            '[[station]]\nid = "CS-2"\nmax_power_kw = 150.5\nevses = 2\nprofile = "no-boot"\n',
        )
    )
    yaml = load_fleet(
        write(
            tmp_path,
            "station:\n  - id: CS-1\n    max_power_kw: 22\n"
            "  - {id: CS-2, max_power_kw: 150.5, evses: 2, profile: no-boot}\n",
            "fleet.yml",
        )
    )
    assert yaml == toml


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("station: [\n  - id: A\n", "not YAML at line"),
        ("- id: A\n  max_power_kw: 5\n", "no stations"),
        ("station:\n  - id: A\n    max_power_kw: '5'\n", "max_power_kw"),
        ("station:\n  - A\n", "not a table"),
    ],
)
def test_bad_yaml_fleet_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(FleetError, match=message) as raised:
        load_fleet(write(tmp_path, text, "fleet.yaml"))
    assert "\n" not in str(raised.value)
    assert str(tmp_path) in str(raised.value)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="No such file"):
        load_fleet(tmp_path / "missing.toml")
