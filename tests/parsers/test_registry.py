"""Detection over every real file, lineage stamping, and the contract every native parser keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.files import head_text
from lab_etl.parsers.registry import detect, list_instruments, native_parsers, parse_bytes, sha256_hex
from tests.parsers.oracle import DATA

#: data folder -> the native parser that must claim its files
EXPECTED = {
    "agilent_gen5": "agilent_gen5",
    "agilent_gen5_wellr": "agilent_gen5_csv",
    "moldev_softmax_pro": "moldev_softmax_pro",
    "perkin_elmer_envision": "perkin_elmer_envision",
    "revvity_kaleido": "revvity_kaleido",
    "bmg_mars": "bmg_mars",
    "methodical_mind": "methodical_mind",
    "tecan_magellan": "tecan",
    "tecan_wellr": "tecan",
    "thermo_skanit": "thermo_skanit",
    "bmg_labtech_smart_control": "bmg_labtech_smart_control",
    "lcms_agilent_masshunter": "agilent_masshunter",
}
#: folders of instruments lab_etl has no native parser for (chromatograms, qPCR, liquid-handler logs)
UNSUPPORTED = {"hplc_appia", "qpcr_appbio", "echo_liquid_handler"}
#: files that sniff as nothing: nothing in their head names their vendor (see their parsers' tests)
UNRECOGNISABLE = {"no_well_positions.xlsx"}


def _real_files() -> list[Path]:
    return sorted(p for p in DATA.glob("*/*") if p.is_file() and p.name != "SOURCES.md")


def test_every_data_folder_is_classified() -> None:
    folders = {p.name for p in DATA.iterdir() if p.is_dir()}
    assert folders == set(EXPECTED) | UNSUPPORTED


@pytest.mark.parametrize("path", [p for p in _real_files() if p.parent.name in EXPECTED], ids=lambda p: p.name)
def test_detection_picks_the_vendor_parser(path: Path) -> None:
    assert detect(path.read_bytes(), path.name).name == EXPECTED[path.parent.name]


@pytest.mark.parametrize("path", [p for p in _real_files() if p.parent.name in UNSUPPORTED], ids=lambda p: p.name)
def test_unsupported_instruments_are_refused_with_the_fix(path: Path) -> None:
    with pytest.raises(ParseError, match="--vendor"):
        detect(path.read_bytes(), path.name)


#: allotropy rejects it only because it has no luminescence-spectrum model; the native parser reads it (see its tests)
READABLE_ERRORS = {"lum_spectrum_columns.txt"}


@pytest.mark.parametrize(
    "path", [p for p in sorted(DATA.glob("*/errors/*")) if p.name not in READABLE_ERRORS], ids=lambda p: p.name
)
def test_bad_inputs_raise_parse_error_naming_the_file(path: Path) -> None:
    with pytest.raises(ParseError) as caught:
        parse_bytes(path.read_bytes(), path.name)
    assert caught.value.source == path.name and caught.value.reason


def test_parse_bytes_stamps_lineage() -> None:
    path = DATA / "bmg_mars" / "PHERAstar output file.CSV"
    data = path.read_bytes()
    parsed = parse_bytes(data, "landing/x.csv")
    assert parsed.parser == "bmg_mars" and parsed.engine == "native" and len(parsed.readings) == 96
    reading = parsed.readings[0]
    assert reading.source_file == "landing/x.csv" and reading.source_sha256 == sha256_hex(data)
    assert reading.parser == "bmg_mars" and reading.parser_version.endswith("+1")


def test_engines_agree_through_the_registry() -> None:
    path = DATA / "revvity_kaleido" / "absorbance_endpoint_single_plate_example_01.csv"
    native = parse_bytes(path.read_bytes(), path.name)
    via_allotropy = parse_bytes(path.read_bytes(), path.name, vendor="revvity_kaleido", engine="allotropy")
    assert via_allotropy.parser == "allotropy:revvity_kaleido" and via_allotropy.engine == "allotropy"
    assert sorted((r.well, r.value) for r in native.readings) == sorted(
        (r.well, r.value) for r in via_allotropy.readings
    )


def test_allotropy_long_tail_through_vendor() -> None:
    path = DATA / "qpcr_appbio" / "example01.csv"
    with pytest.raises(ParseError, match="allotropy"):
        parse_bytes(b"not a cfx file", "x.csv", vendor="cfxmaestro")
    parsed = parse_bytes(path.read_bytes(), path.name, vendor="cfxmaestro")
    assert parsed.engine == "allotropy"
    a01 = {r.channel: r for r in parsed.readings if r.well == "A01" and r.measurement == "cycle_threshold"}
    assert a01["FAM"].value == pytest.approx(21.1877528266099)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02\xff" * 100, "neither a text export"),
        (b"just some notes\n", "no instrument parser"),
    ],
)
def test_unreadable_files(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_bytes(data, "x.bin")


def test_unknown_vendor_and_engine() -> None:
    with pytest.raises(ParseError, match="no instrument called"):
        parse_bytes(b"x", "x.csv", vendor="acme_reader")
    with pytest.raises(ParseError, match="unknown engine"):
        parse_bytes(b"x", "x.csv", engine="fast")


def test_registry_lists_native_then_allotropy() -> None:
    infos = list_instruments()
    names = [i.name for i in infos]
    assert len(names) == len(set(names))
    native = [i for i in infos if i.engine == "native"]
    assert {i.name for i in native} == {p.name for p in native_parsers()} >= set(EXPECTED.values())
    assert sum(1 for i in infos if i.engine == "allotropy") >= 40


def test_every_native_parser_declares_itself() -> None:
    for parser in native_parsers():
        assert parser.name and parser.display_name and parser.vendor and parser.version
        assert parser.sniff("") is False
        assert parser.sniff(head_text(b"Well,Value\n")) in (True, False)
