"""What every instrument parser shares: the :class:`Reading` record, the parser base class, and the
helpers that turn raw bytes and cells into text and numbers the same way for every vendor.

A parser knows bytes and one vendor's layout, nothing about Spark. It yields one :class:`Reading`
per well x measurement x read; :mod:`lab_etl.parsers.registry` stamps each reading with its lineage
(source file, sha256, parser name and version).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import ClassVar

from lab_etl.errors import ParseError
from lab_etl.plates import parse_well, well_name

#: How many bytes of a file detection looks at.
HEAD_BYTES = 65536

#: The flags a reading may carry; ``None`` means a plain numeric value.
FLAGS = ("overflow", "underflow", "missing", "invalid", "saturated", "masked")


@dataclass(slots=True)
class Reading:
    """One measured value: one well x measurement x read of one plate.

    ``value`` is the number as a float, ``None`` when the cell held no number; ``raw_value`` keeps the
    cell's text exactly as the instrument wrote it, and ``flag`` says why ``value`` is missing or
    suspect (see :data:`FLAGS`). ``channel`` names the read inside the file (e.g. ``"450"``,
    ``"Lum"``, ``"485/528"``) and is never null so that it can serve in merge keys.
    """

    plate_id: str
    well: str
    row_index: int
    column_index: int
    plate_format: int
    measurement: str
    value: float | None
    raw_value: str | None
    channel: str = ""
    unit: str | None = None
    flag: str | None = None
    wavelength_nm: float | None = None
    excitation_nm: float | None = None
    read_index: int = 1
    elapsed_s: float | None = None
    sample_name: str | None = None
    vendor: str = ""
    instrument_model: str | None = None
    instrument_serial: str | None = None
    read_at: datetime | None = None
    # lineage, stamped by the registry
    source_file: str = ""
    source_sha256: str = ""
    parser: str = ""
    parser_version: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """The natural key inside one file: plate, well, measurement, channel, read."""
        return (self.plate_id, self.well, self.measurement, self.channel, self.read_index)


def make_reading(
    plate_id: str,
    well: str,
    plate_format: int,
    measurement: str,
    raw: str | float | int | None,
    *,
    decimal_comma: bool = False,
    **fields: object,
) -> Reading:
    """Build a :class:`Reading` from a well name in any spelling and a raw cell.

    The well is canonicalised (``a1`` -> ``A01``), the cell parsed with :func:`parse_value`.
    Extra keyword arguments set the other :class:`Reading` fields.
    """
    row, column = parse_well(well, plate_format)
    value, flag, raw_text = parse_value(raw, decimal_comma=decimal_comma)
    if "flag" in fields and fields["flag"] is not None:
        flag = str(fields.pop("flag"))
    else:
        fields.pop("flag", None)
    return Reading(
        plate_id=plate_id,
        well=well_name(row, column),
        row_index=row,
        column_index=column,
        plate_format=plate_format,
        measurement=measurement,
        value=value,
        raw_value=raw_text,
        flag=flag,
        **fields,  # type: ignore[arg-type]
    )


_OVERFLOW = {"overflow", "ovrflw", "over", "ovfl", "ovr", ">max", "sat", "saturated", "out of range", "range?", "oor>"}
_UNDERFLOW = {"underflow", "under", "<min", "oor<"}
_MISSING = {
    "",
    "-",
    "--",
    "n/a",
    "na",
    "nan",
    "none",
    "null",
    "#n/a",
    "not measured",
    "nd",
    "n.d.",
    "empty",
    "?",
    "missed",
}
_INVALID_PATTERN = re.compile(r"^[?*#!]+$")
_NUMBER_PATTERN = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def parse_value(
    raw: str | float | int | None, *, decimal_comma: bool = False
) -> tuple[float | None, str | None, str | None]:
    """Turn one cell into ``(value, flag, raw_text)``.

    Numbers (also ``1,5`` with ``decimal_comma``, ``1.2E+03``, ``+3``) give ``(float, None, text)``.
    Vendor words for out-of-range reads give ``(None, 'overflow'|'underflow', text)``; empty cells and
    ``n/a`` give ``(None, 'missing', text)``; anything else ``(None, 'invalid', text)``.
    Infinite or NaN numbers are never returned as values.

    Examples
    --------
    >>> parse_value("0,532", decimal_comma=True)
    (0.532, None, '0,532')
    >>> parse_value("OVRFLW")
    (None, 'overflow', 'OVRFLW')
    """
    if raw is None:
        return None, "missing", None
    if isinstance(raw, bool):
        return None, "invalid", str(raw)
    if isinstance(raw, (int, float)):
        number = float(raw)
        if math.isnan(number):
            return None, "missing", str(raw)
        if math.isinf(number):
            return None, "overflow" if number > 0 else "underflow", str(raw)
        return number, None, number_text(raw)
    text = str(raw)
    stripped = text.strip().strip('"').strip()
    if _NUMBER_PATTERN.match(stripped):
        if "," in stripped:
            if not decimal_comma:
                return None, "invalid", text
            stripped = stripped.replace(",", ".")
        number = float(stripped)
        if math.isinf(number) or math.isnan(number):
            return None, "invalid", text
        return number, None, text
    lowered = stripped.lower()
    if lowered in _MISSING:
        return None, "missing", text
    if lowered in _OVERFLOW or lowered.startswith(">"):
        return None, "overflow", text
    if lowered in _UNDERFLOW or lowered.startswith("<"):
        return None, "underflow", text
    if _INVALID_PATTERN.match(stripped):
        return None, "invalid", text
    return None, "invalid", text


def number_text(value: int | float) -> str:
    """A number as a person would read it in the cell: ``5.0 -> '5'``, ``0.25 -> '0.25'``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def cell_raw(cell: object) -> str | float | int | None:
    """A workbook cell as :func:`make_reading` takes it: numbers and text as they are, anything else as text."""
    if cell is None or isinstance(cell, (str, float, int)):
        return cell
    return str(cell)


def cell_text(cell: object) -> str:
    """A workbook cell as stripped text; whole numbers print without ``.0`` (column headers 1..12)."""
    if cell is None:
        return ""
    if isinstance(cell, float):
        return number_text(cell)
    return str(cell).strip()


def default_plate_id(name: str) -> str:
    """The plate id of a file that names none: its file name without folders (``/`` or ``\\``) and extension."""
    return PurePath(name.replace("\\", "/")).stem or "plate"


def decode_text(data: bytes, source: str = "") -> str:
    """Decode a text export: UTF-8 (with or without BOM), UTF-16 (with BOM or by NUL pattern), else cp1252.

    Raises :class:`ParseError` for empty files and for binary files that are no text.
    """
    if not data:
        raise ParseError("the file is empty (0 bytes)", source)
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError(f"the file starts like UTF-16 text but does not decode: {exc}", source) from None
    sample = data[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4 and sample[0::2].count(0) == 0:
        return data.decode("utf-16-le", errors="replace")
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4 and sample[1::2].count(0) == 0:
        return data.decode("utf-16-be", errors="replace")
    if b"\x00" in sample:
        raise ParseError("the file is binary, not a text export (it contains NUL bytes)", source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\r\n\x0c")
    if controls > max(8, len(text[:4096]) // 20):
        raise ParseError("the file is binary, not a text export (too many control characters)", source)
    return text


def is_xlsx(data: bytes) -> bool:
    """True when the bytes are an Office Open XML workbook (a zip holding ``xl/workbook.xml``)."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except Exception:  # a damaged or hostile zip is simply not a workbook; detection must never raise
        return False


def xlsx_sheets(data: bytes, source: str = "") -> dict[str, list[list[object]]]:
    """Every sheet of a workbook as rows of cell values (``None`` for empty cells), in file order.

    Read with calamine (a Rust reader, ~10x faster than openpyxl, which stays the fallback). Raises
    :class:`ParseError` when the workbook cannot be opened or is damaged.
    """
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - calamine comes with the allotropy extra
        return _openpyxl_sheets(data, source)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return {
            name: [
                [None if cell == "" else cell for cell in row] for row in workbook.get_sheet_by_name(name).to_python()
            ]
            for name in workbook.sheet_names
        }
    except Exception as exc:  # calamine raises its own error types for broken zips and XML
        raise ParseError(f"the Excel workbook cannot be read: {exc}", source) from None


def _openpyxl_sheets(data: bytes, source: str) -> dict[str, list[list[object]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise ParseError(f"the Excel workbook cannot be opened: {exc}", source) from None
    try:
        return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets}
    except Exception as exc:  # a damaged zip member (bad CRC, cut XML) only fails while rows are read
        raise ParseError(f"the Excel workbook is damaged: {type(exc).__name__}: {exc}", source) from None
    finally:
        workbook.close()


def head_text(data: bytes, source: str = "") -> str:
    """The text that detection looks at: the decoded first :data:`HEAD_BYTES` of a text file, or the
    first 60 rows of every sheet of a workbook written tab-separated. Empty string when neither.
    """
    if is_xlsx(data):
        try:
            sheets = xlsx_sheets(data, source)
        except ParseError:
            return ""
        lines: list[str] = []
        for rows in sheets.values():
            for row in rows[:60]:
                lines.append("\t".join("" if cell is None else str(cell) for cell in row))
        return "\n".join(lines)
    try:
        return decode_text(data[:HEAD_BYTES], source)
    except ParseError:
        return ""


@dataclass(frozen=True)
class ParserInfo:
    """What ``lab-etl instruments`` shows for one parser."""

    name: str
    display_name: str
    vendor: str
    engine: str
    extensions: tuple[str, ...] = field(default_factory=tuple)


class InstrumentParser(ABC):
    """One vendor file family. Subclasses set the class attributes and implement both methods.

    ``sniff`` sees the decoded head of the file (see :func:`head_text`), not raw bytes, so that BOMs,
    UTF-16 and workbooks are handled once for every vendor. ``parse`` sees the whole file.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    vendor: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[str] = "1"

    @abstractmethod
    def sniff(self, head: str) -> bool:
        """True when ``head`` looks like this parser's format. Must be cheap and never raise."""

    @abstractmethod
    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        """Yield the file's readings; raise :class:`ParseError` (only) when the file is broken."""

    def info(self) -> ParserInfo:
        return ParserInfo(self.name, self.display_name, self.vendor, "native", self.extensions)
