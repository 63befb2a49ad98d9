"""Reading an export file's bytes: text decoding (BOMs, UTF-16, cp1252, binary refused), Excel workbooks as rows
of cells, the head that detection sees, and a plate id from a file name. Handled once here for every vendor.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

from lab_etl.errors import ParseError
from lab_etl.parsers.reading import number_text

#: How many bytes of a file detection looks at.
HEAD_BYTES = 65536


def default_plate_id(name: str) -> str:
    """The plate id of a file that names none: its file name without folders (``/`` or ``\\``) and extension."""
    return PurePath(name.replace("\\", "/")).stem or "plate"


#: characters below 32 other than tab, CR, LF and form feed: many of them mean binary data
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")


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
    controls = len(_CONTROL_CHARACTERS.findall(text, 0, 4096))
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


def head_lines(head: str, count: int | None = None) -> list[str]:
    r"""The lines of a detection head (see :func:`head_text`) without a leading byte-order mark: the first ``count``
    of them, or all.

    Examples
    --------
    >>> head_lines("\ufeffSoftware Version\t3.16\nPlate Number\tPlate 1\n", 1)
    ['Software Version\t3.16']
    """
    return head.lstrip("\ufeff").splitlines()[:count]


def cell_raw(cell: object) -> str | float | int | None:
    """A workbook cell as :func:`~lab_etl.parsers.reading.make_reading` takes it: numbers and text as they are,
    anything else as text."""
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
