"""allotropy as the oracle: the (well, value) pairs a file gives through ASM, to compare with the native engine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.reading import Reading
from lab_etl.parsers.registry import parse_bytes

DATA = Path(__file__).resolve().parents[1] / "data" / "instruments"


def value_pairs(readings: Iterable[Reading]) -> Counter[tuple[str, float]]:
    """Multiset of (canonical well, value rounded to 9 significant digits) over numeric readings."""
    return Counter((r.well, float(f"{r.value:.9g}")) for r in readings if r.value is not None)


def allotropy_pairs(path: Path, vendor: str) -> Counter[tuple[str, float]]:
    return value_pairs(parse_bytes(path.read_bytes(), path.name, vendor=vendor, engine="allotropy").readings)


def native_pairs(path: Path, parser: InstrumentParser) -> Counter[tuple[str, float]]:
    return value_pairs(parser.parse(path.read_bytes(), path.name))


def all_instrument_files() -> list[Path]:
    """Every real instrument file in tests/data/instruments (errors/ included), for sniff cross-checks."""
    return sorted(p for p in DATA.rglob("*") if p.is_file() and p.name != "SOURCES.md")


def files(vendor_folder: str) -> list[Path]:
    """Every real file of a vendor folder (not its errors/), sorted, for parametrised tests."""
    return sorted(p for p in (DATA / vendor_folder).iterdir() if p.is_file() and p.name != "SOURCES.md")
