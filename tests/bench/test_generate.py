"""bench/generate.py: the benchmark landing is deterministic, parses natively, and its counts are right."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from lab_etl.eln import read_eln_table
from lab_etl.errors import ConfigError, DataQualityError
from lab_etl.layouts import read_plate_map_csv
from lab_etl.parsers.registry import parse_bytes

GENERATE = Path(__file__).resolve().parents[2] / "bench" / "generate.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


generate_module = _load()


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    generate_module.generate(tmp_path / "a", 6, plate_format=96, seed=3)
    generate_module.generate(tmp_path / "b", 6, plate_format=96, seed=3)
    generate_module.generate(tmp_path / "c", 6, plate_format=96, seed=4)
    first, again, other = (_digests(tmp_path / x) for x in "abc")
    assert first == again
    assert len(first) == len(other)
    # plate maps hold roles only (the same for every seed); every instrument export differs
    exports = {k: v for k, v in first.items() if k.startswith("instruments/")}
    assert len(exports) == 6
    assert not set(exports.values()) & set(other.values())


@pytest.mark.parametrize("plate_format", [96, 384, 1536])
def test_every_file_parses_natively_to_the_manifest(tmp_path: Path, plate_format: int) -> None:
    manifest = generate_module.generate(tmp_path, 10, plate_format=plate_format, seed=0, eln_share=0.5)
    generate_module.check(manifest)  # raises on any mismatch; the assertions below say what it means
    parsers: Counter[str] = Counter()
    readings = 0
    for plate in manifest.plates:
        parsed = parse_bytes(plate.path.read_bytes(), plate.path.name, engine="native")
        parsers[parsed.parser] += 1
        readings += len(parsed.readings)
        assert {r.plate_id for r in parsed.readings} == {plate.plate_id}
        assert {r.well for r in parsed.readings} == {r.well for r in parsed.readings if r.value is not None}
    assert parsers == {
        "bmg_mars": 2,
        "perkin_elmer_envision": 2,
        "agilent_gen5": 2,
        "plate_grid": 2,
        "long_csv": 2,
    }
    # one reading per well, two (yield and RT-MS) in the long CSV yield tables
    assert readings == manifest.readings == 10 * plate_format + 2 * plate_format
    assert manifest.wells == 10 * plate_format


def test_controls_sit_in_fixed_columns_and_separate(tmp_path: Path) -> None:
    manifest = generate_module.generate(tmp_path, 1, plate_format=384, seed=0)
    (plate,) = manifest.plates
    readings = parse_bytes(plate.path.read_bytes(), plate.path.name, engine="native").readings
    by_column: dict[int, list[float]] = {}
    for r in readings:
        by_column.setdefault(r.column_index, []).append(r.value)
    negative = by_column[1] + by_column[2]
    positive = by_column[23] + by_column[24]
    assert len(negative) == len(positive) == 32
    mean_neg, mean_pos = sum(negative) / 32, sum(positive) / 32
    sd = lambda xs, m: (sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5  # noqa: E731
    z_prime = 1 - 3 * (sd(negative, mean_neg) + sd(positive, mean_pos)) / abs(mean_neg - mean_pos)
    assert 0.5 < z_prime < 1


def test_yields_are_percentages(tmp_path: Path) -> None:
    manifest = generate_module.generate(tmp_path, 50, plate_format=384, seed=0)
    yields = [
        r.value
        for plate in manifest.plates
        if plate.vendor_format == "long_csv"
        for r in parse_bytes(plate.path.read_bytes(), plate.path.name).readings
        if r.measurement == "yield"
    ]
    assert len(yields) == 10 * 384
    assert 0 <= min(yields) and max(yields) <= 100  # lab_gold.assay_results_flat's expectation


def test_layouts_cover_every_plate_once(tmp_path: Path) -> None:
    manifest = generate_module.generate(tmp_path, 40, plate_format=96, seed=0, eln_share=0.5)
    eln_plates: set[str] = set()
    for path in manifest.eln_files:
        export = read_eln_table(path.read_bytes(), path.name)
        assert export.warnings == []
        for layout in export.layouts:
            roles = Counter(w.role for w in layout.wells)
            assert roles == {"sample": 64, "negative_control": 16, "positive_control": 16}
            assert len(layout.reagents) == 96  # one substrate or solvent per well
            eln_plates.add(layout.plate_id)
    maps = [read_plate_map_csv(p.read_bytes(), p.name) for p in manifest.layout_files]
    map_plates = {layout.plate_id for layout in maps}
    for layout in maps:
        assert Counter(w.role for w in layout.wells) == {"sample": 64, "negative_control": 16, "positive_control": 16}
        assert layout.well("A01").sample_name == "DMSO"
    # the ingest skips a file whose bytes it has seen: every layout file must be unique
    all_files = manifest.layout_files + manifest.eln_files
    assert len({hashlib.sha256(p.read_bytes()).digest() for p in all_files}) == len(all_files)
    assert eln_plates.isdisjoint(map_plates)
    assert eln_plates | map_plates == {p.plate_id for p in manifest.plates}
    assert eln_plates == {p.plate_id for p in manifest.plates if p.layout_source == "eln"}
    assert 0 < len(eln_plates) < 40  # a share of the plates, not all or none


def test_write_plate_adds_the_plate_generate_would_have_written(tmp_path: Path) -> None:
    manifest = generate_module.generate(tmp_path / "big", 4, plate_format=96, seed=1)
    added = generate_module.write_plate(tmp_path / "small", 3, plate_format=96, seed=1)
    same = manifest.plates[3]
    assert added == generate_module.PlateFile(
        **{**same.__dict__, "path": tmp_path / "small" / same.path.relative_to(tmp_path / "big")}
    )
    assert added.path.read_bytes() == manifest.plates[3].path.read_bytes()


def test_check_names_the_file_that_does_not_match(tmp_path: Path) -> None:
    manifest = generate_module.generate(tmp_path, 2, plate_format=96, seed=0)
    envision = manifest.plates[1].path
    text = envision.read_bytes()
    row_h = text.index(b"\r\nH,")
    # an area read missing row H still parses (EnVision allows part of a plate), to 84 wells instead of 96
    envision.write_bytes(text[:row_h] + text[text.index(b"\r\n", row_h + 2) :])
    with pytest.raises(DataQualityError, match=r"Kinase screen A450_1001.csv: 84 readings on 84 wells, expected 96"):
        generate_module.check(manifest)


def test_bad_arguments_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        generate_module.generate(tmp_path, 0)
    with pytest.raises(ConfigError, match="not a standard plate"):
        generate_module.write_plate(tmp_path, 0, plate_format=100)
