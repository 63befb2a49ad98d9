"""The allotropy engine: any of allotropy's instrument families, flattened from the Allotrope Simple
Model (ASM) into lab_etl's :class:`~lab_etl.parsers.reading.Reading` records.

allotropy (Benchling, MIT) covers far more instruments than the native engine but is slow (ASM is a
deep JSON document built with validation); lab_etl uses it for the long tail and as the oracle the
native parsers are tested against.

What is flattened: every ``measurement document`` that names a well (``location identifier``). Its
scalar measurements (absorbance, fluorescence, luminescence, ...) become one reading each; its data
cubes (kinetic profiles over elapsed time, spectra over wavelength) become one reading per point.
Calculated data and instrument settings are not readings.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import PurePath
from typing import Any

from lab_etl.errors import ParseError
from lab_etl.parsers.base import ParserInfo
from lab_etl.parsers.files import default_plate_id
from lab_etl.parsers.reading import Reading, make_reading
from lab_etl.plates import GEOMETRY, parse_well, smallest_plate_format

#: ASM keys of a measurement document that are conditions, not measured results.
_NOT_RESULTS = {"compartment temperature"}


def allotropy_version() -> str:
    try:
        return version("allotropy")
    except PackageNotFoundError:  # pragma: no cover - allotropy is a hard dependency
        return "unknown"


@lru_cache(maxsize=1)
def _vendors() -> dict[str, Any]:
    from allotropy.parser_factory import Vendor

    return {vendor.name.lower(): vendor for vendor in Vendor}


def vendor_infos() -> list[ParserInfo]:
    """Every allotropy instrument family as a :class:`ParserInfo` (engine ``allotropy``)."""
    infos = []
    for name, vendor in sorted(_vendors().items()):
        if name.startswith("example_"):
            continue
        infos.append(
            ParserInfo(
                name,
                vendor.display_name,
                vendor.display_name.split()[0],
                "allotropy",
                tuple(vendor.supported_extensions),
            )
        )
    return infos


def parse(data: bytes, name: str, vendor: str) -> Iterator[Reading]:
    """Convert ``data`` with allotropy's ``vendor`` parser and flatten the ASM into readings.

    Raises :class:`ParseError` with allotropy's own message when allotropy rejects the file.
    """
    from allotropy.to_allotrope import allotrope_from_io

    try:
        vendor_enum = _vendors()[vendor.lower()]
    except KeyError:
        raise ParseError(f"allotropy has no instrument called '{vendor}' (see `lab-etl instruments`)", name) from None
    try:
        asm = allotrope_from_io(io.BytesIO(data), PurePath(name).name, vendor_enum)
    except Exception as exc:  # allotropy raises AllotropeConversionError and, on odd input, anything else
        message = str(exc).strip() or type(exc).__name__
        raise ParseError(f"allotropy ({vendor}) rejected the file: {message}", name) from None
    yield from flatten_asm(asm, name, vendor)


def flatten_asm(asm: dict[str, Any], name: str, vendor: str) -> Iterator[Reading]:
    """Flatten one ASM document into readings (see the module docstring for what counts)."""
    stem = default_plate_id(name)
    device = _find_first(asm, "device system document") or {}
    model = device.get("model number") or device.get("device identifier")
    serial = device.get("equipment serial number")
    seen: dict[tuple[str, str, str, str, int], int] = {}
    aggregates = list(_find_all(asm, "measurement aggregate document"))
    formats = _plate_formats(aggregates, stem)
    for aggregate in aggregates:
        read_at = _timestamp(aggregate.get("measurement time"))
        for document in aggregate.get("measurement document", []):
            sample = document.get("sample document", {})
            # MSD writes the well as "well location identifier" and the spot as "location identifier"
            location = sample.get("well location identifier") or sample.get("location identifier")
            spot = sample.get("location identifier") if sample.get("well location identifier") else None
            if not location:
                continue
            plate_id = str(sample.get("well plate identifier") or stem)
            fmt = formats.get(plate_id)
            if fmt is None:  # no location of this plate is a well (an HPLC vial position such as P1:A1)
                continue
            try:
                parse_well(str(location), fmt)
            except ParseError:
                continue
            control = _first_control(document)
            common = {
                "sample_name": sample.get("sample identifier"),
                "vendor": vendor,
                "instrument_model": model,
                "instrument_serial": serial,
                "read_at": _timestamp(document.get("measurement time")) or read_at,
                "wavelength_nm": _number(control.get("detector wavelength setting")),
                "excitation_nm": _number(control.get("excitation wavelength setting")),
            }
            errors = _errors(document)
            before = len(seen)
            for key, result in document.items():
                if key in _NOT_RESULTS or not isinstance(result, dict):
                    continue
                if "value" in result and "unit" in result:
                    measurement = key.replace(" ", "_")
                    channel = _channel(control, measurement) + (f" spot {spot}" if spot else "")
                    # allotropy writes -0.0 where the cell held an error word; the word is the reading
                    error = errors.get(key.lower(), errors.get("*"))
                    raw = result["value"] if error is None else error
                    reading = make_reading(
                        plate_id, str(location), fmt, measurement, raw, channel=channel, unit=result["unit"], **common
                    )
                    if error is not None and reading.value is not None:
                        reading.value, reading.flag = None, "invalid"
                    yield _unique(seen, reading)
                elif key.endswith("data cube") and "data" in result:
                    yield from _cube_readings(seen, result, plate_id, str(location), fmt, control, common, errors)
            if len(seen) == before:
                # no raw read (qPCR, cell counters ...): the instrument's own results are the readings
                yield from _processed_readings(seen, document, plate_id, str(location), fmt, control, common)


def _cube_readings(
    seen: dict, cube: dict, plate_id: str, well: str, fmt: int, control: dict, common: dict, errors: dict[str, str]
) -> Iterator[Reading]:
    structure = cube.get("cube-structure", {})
    dimension = structure.get("dimensions", [{}])[0]
    measure = structure.get("measures", [{}])[0]
    measurement = str(measure.get("concept", "signal")).replace(" ", "_")
    axis = cube["data"].get("dimensions", [[]])[0]
    values = cube["data"].get("measures", [[]])[0]
    for index, (position, raw) in enumerate(zip(axis, values, strict=False), start=1):
        fields = dict(common)
        if dimension.get("concept") == "wavelength":
            fields["wavelength_nm"] = float(position)
            channel = f"{_channel(control, measurement)} spectrum"
            fields["elapsed_s"] = None
        else:
            fields["elapsed_s"] = float(position)
            channel = f"{_channel(control, measurement)} kinetic"
        # a point's error is keyed by its position ("310.0nm"); allotropy writes -0.0 in its place
        error = errors.get(f"{float(position)}nm") or errors.get(f"{float(position)}s")
        if error is None and errors and isinstance(raw, float) and raw == 0 and math.copysign(1.0, raw) < 0:
            error = next(iter(errors.values()))
        reading = make_reading(
            plate_id,
            well,
            fmt,
            measurement,
            raw if error is None else error,
            channel=channel,
            unit=measure.get("unit"),
            read_index=index,
            **fields,
        )
        if error is not None and reading.value is not None:
            reading.value, reading.flag = None, "invalid"
        yield _unique(seen, reading)


def _processed_readings(
    seen: dict, document: dict, plate_id: str, well: str, fmt: int, control: dict, common: dict
) -> Iterator[Reading]:
    """Results of ``processed data document`` entries: ``cycle threshold result (qPCR)`` -> ``cycle_threshold``."""
    label = control.get("reporter dye setting") or document.get("target DNA description")
    for processed in _find_all(document, "processed data document"):
        for key, result in processed.items():
            if "result" not in key or not isinstance(result, dict) or "value" not in result:
                continue
            measurement = key.split(" (")[0].replace(" result", "").strip().replace(" ", "_")
            channel = str(label) if label and label != "N/A" else measurement
            yield _unique(
                seen,
                make_reading(
                    plate_id,
                    well,
                    fmt,
                    measurement,
                    result["value"],
                    channel=channel,
                    unit=result.get("unit"),
                    **common,
                ),
            )


def _unique(seen: dict[tuple[str, str, str, str, int], int], reading: Reading) -> Reading:
    """ASM may hold two documents with the same well and settings (repeated reads); number them apart."""
    count = seen.get(reading.key, 0)
    seen[reading.key] = count + 1
    if count:
        reading.channel = f"{reading.channel} #{count + 1}"
    return reading


def _channel(control: dict[str, Any], measurement: str) -> str:
    excitation = _number(control.get("excitation wavelength setting"))
    emission = _number(control.get("detector wavelength setting"))
    parts = [f"{excitation:g}" if excitation else None, f"{emission:g}" if emission else None]
    label = "/".join(p for p in parts if p)
    return label or measurement


def _errors(document: dict[str, Any]) -> dict[str, str]:
    """ASM's error documents of one measurement: the feature (e.g. ``absorbance``) -> the instrument's word."""
    found = {}
    for error in document.get("error aggregate document", {}).get("error document", []):
        if isinstance(error, dict):
            # the feature names the result ("absorbance", sometimes capitalised); without one it is the document's
            feature = str(error.get("error feature") or "*").lower()
            found[feature] = str(error.get("error", ""))
    return found


def _first_control(document: dict[str, Any]) -> dict[str, Any]:
    controls = document.get("device control aggregate document", {}).get("device control document", [])
    return controls[0] if controls else {}


def _plate_formats(aggregates: list[dict[str, Any]], stem: str) -> dict[str, int]:
    """Each plate's format: the stated well count when every well of the plate fits it, else the smallest plate
    holding all its wells (some exports state the number of wells read as the count). Deciding once per plate
    matters for BMG's 1536-well rows ``a``..``f``, which only a 1536-well plate reads as AA..AF."""
    stated: dict[str, float | None] = {}
    extent: dict[str, tuple[int, int]] = {}
    for aggregate in aggregates:
        count = _number(aggregate.get("plate well count"))
        for document in aggregate.get("measurement document", []):
            sample = document.get("sample document", {})
            plate_id = str(sample.get("well plate identifier") or stem)
            location = sample.get("well location identifier") or sample.get("location identifier")
            try:
                row, column = parse_well(str(location))
            except ParseError:
                continue
            stated.setdefault(plate_id, count)
            max_row, max_column = extent.get(plate_id, (1, 1))
            extent[plate_id] = (max(max_row, row), max(max_column, column))
    formats: dict[str, int] = {}
    for plate_id, (max_row, max_column) in extent.items():
        count = stated.get(plate_id)
        fits = count in GEOMETRY and max_row <= GEOMETRY[int(count)][0] and max_column <= GEOMETRY[int(count)][1]  # type: ignore[arg-type]
        formats[plate_id] = int(count) if fits else smallest_plate_format(max_row, max_column)  # type: ignore[arg-type]
    return formats


def _number(field: Any) -> float | None:
    if isinstance(field, dict):
        field = field.get("value")
    if isinstance(field, (int, float)) and not isinstance(field, bool) and math.isfinite(field):
        return float(field)
    return None


def _timestamp(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _find_first(node: Any, key: str) -> Any:
    for found in _find_all(node, key):
        return found
    return None


def _find_all(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                if isinstance(v, list):
                    yield from v
                else:
                    yield v
            else:
                yield from _find_all(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _find_all(item, key)
