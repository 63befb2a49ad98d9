"""Helpers every vendor parser shares: numbers in settings text, clock times, dates, delimiters, names.

One definition each, so that two vendors never read ``485 nm``, ``0:01:30`` or ``1/2/2024 10:00:00 AM``
differently. Cell values (the measured numbers and their flags) are not here: they go through
:func:`lab_etl.parsers.reading.parse_value`, which every reading is built with.

Modelled on allotropy's ``parsers/utils/`` (values, timestamps): small pure functions, no vendor knowledge.
Every function returns ``None`` for text it cannot read; the caller decides whether that is an error.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Container, Iterable
from contextlib import suppress
from datetime import datetime

#: Date/time spellings instrument software writes, tried in this order by :func:`parse_datetime`.
#: For every clock style the month-first (US) spelling comes before the day-first one, so an ambiguous
#: date such as ``01/02/2024`` is read as 2 January; ``13/02/2024`` can only be day first.
DATE_FORMATS: tuple[str, ...] = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
)

#: How instrument software starts the title of a raw read (a SkanIt step, a SMART Control read mode) -> the
#: measurement. Tried in this order, so that ``fluorescence polarization`` is not taken for ``fluorescence``.
MEASUREMENT_TITLES: tuple[tuple[str, str], ...] = (
    ("absorbance", "absorbance"),
    ("photometric", "absorbance"),
    ("fluorescence polarization", "fluorescence_polarization"),
    ("time-resolved fluorescence", "time_resolved_fluorescence"),
    ("time resolved fluorescence", "time_resolved_fluorescence"),
    ("trf", "time_resolved_fluorescence"),
    ("fluorescence", "fluorescence"),
    ("fluorometric", "fluorescence"),
    ("luminescence", "luminescence"),
    ("luminometric", "luminescence"),
    ("alphascreen", "alphascreen"),
)

#: Field separators of text exports, in the order ties are broken.
DELIMITERS: tuple[str, ...] = (",", ";", "\t")

_LEADING_NUMBER_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)")
_ANY_NUMBER_RE = re.compile(r"(\d+(?:[.,]\d+)?)")
_SNAKE_RE = re.compile(r"[^0-9a-z]+")
_PLATE_SIZE_RE = re.compile(r"(?<!\d)(1536|384|96|48|24|12|6)(?!\d)")
_DATE_RE = re.compile(
    r"^(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?)?$"
)

#: The unit a plate reader's export implies when it names none, by measurement (EnVision, EnSight/Kaleido).
DEFAULT_UNITS = {"absorbance": "AU", "fluorescence": "RFU", "luminescence": "RLU", "alphascreen": "counts"}


def to_float(cell: object, *, decimal_comma: bool = False) -> float | None:
    """The whole cell as one finite number, else ``None``.

    Numbers pass through; text is stripped and, with ``decimal_comma``, its comma read as the decimal point.
    ``inf``, ``nan`` and digit groups with ``_`` (which :class:`float` would accept) are no numbers here.
    Measured values go through :func:`lab_etl.parsers.reading.parse_value` instead, which also flags words
    such as ``OVRFLW``.

    Examples
    --------
    >>> to_float(" 450 ")
    450.0
    >>> to_float("0,5"), to_float("0,5", decimal_comma=True)
    (None, 0.5)
    >>> to_float("485 nm") is None, to_float("nan") is None, to_float(12)
    (True, True, 12.0)
    """
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, (int, float)):
        number = float(cell)
    else:
        text = str(cell).strip()
        if decimal_comma:
            text = text.replace(",", ".")
        if "_" in text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def first_number(text: str | None, *, anywhere: bool = False) -> float | None:
    """The unsigned number a settings text starts with (``485 nm``, ``480-14``, ``0,5 s``), else ``None``.

    A decimal comma is read as a point. With ``anywhere`` the first number in the text counts
    (``Wavelength: 260 nm`` -> 260), not only one at the start.

    Examples
    --------
    >>> first_number("480-14"), first_number("1,5 mm"), first_number("Ex 485")
    (480.0, 1.5, None)
    >>> first_number("Ex 485", anywhere=True)
    485.0
    """
    if not text:
        return None
    match = (_ANY_NUMBER_RE.search if anywhere else _LEADING_NUMBER_RE.match)(text)
    return float(match.group(1).replace(",", ".")) if match else None


def clock_seconds(text: str, *, decimal_comma: bool = False) -> float | None:
    """A kinetic time ``h:mm:ss``, ``mm:ss`` or plain seconds in seconds; ``None`` when it is no time.

    Examples
    --------
    >>> clock_seconds("0:01:30"), clock_seconds("02:05"), clock_seconds("12.5")
    (90.0, 125.0, 12.5)
    >>> clock_seconds("0:00:1,5", decimal_comma=True), clock_seconds("T 450") is None
    (1.5, True)
    """
    parts = text.strip().split(":")
    if len(parts) > 3:
        return None
    total = 0.0
    for part in parts:
        number = to_float(part, decimal_comma=decimal_comma)
        if number is None:
            return None
        total = total * 60 + number
    return total


def parse_datetime(text: str, formats: Iterable[str] = DATE_FORMATS) -> datetime | None:
    """A date/time in one of the spellings a vendor's software writes (ISO, or one of ``formats``), else ``None``.

    Runs of whitespace count as one space (``Date`` and ``Time`` cells are often joined with several).
    Use this where the vendor's spellings are known; :func:`parse_timestamp` guesses for generic files.

    Examples
    --------
    >>> parse_datetime("1/2/2024  10:30:00 PM")
    datetime.datetime(2024, 1, 2, 22, 30)
    >>> parse_datetime("13/02/2024 10:30:00"), parse_datetime("no date")
    (datetime.datetime(2024, 2, 13, 10, 30), None)
    """
    text = " ".join(text.split())
    if not text:
        return None
    with suppress(ValueError):
        return datetime.fromisoformat(text)
    for date_format in formats:
        try:
            return datetime.strptime(text, date_format)
        except ValueError:
            continue
    return None


def parse_timestamp(text: str, *, day_first: bool | None = None) -> datetime | None:
    """Parse the date/time spellings instrument software writes; ``None`` when the text is no date.

    ISO (``2024-01-31 10:00:00``), ``31.01.2024 10:00`` (dot = day first), and slashed or dashed dates with an
    optional 12-hour clock (``4/19/2018 6:37 PM``) and two-digit years. For such dates a first number > 12 means
    day first, a second > 12 month first; otherwise ``day_first`` decides (default: month first, as US software
    writes).

    Examples
    --------
    >>> parse_timestamp("4/19/2018 6:37 PM")
    datetime.datetime(2018, 4, 19, 18, 37)
    >>> parse_timestamp("05/03/24", day_first=True), parse_timestamp("31.01.2024 10:00")
    (datetime.datetime(2024, 3, 5, 0, 0), datetime.datetime(2024, 1, 31, 10, 0))
    """
    text = text.strip()
    if not text:
        return None
    with suppress(ValueError):
        return datetime.fromisoformat(text)
    match = _DATE_RE.match(text)
    if not match:
        return None
    first, separator, second, third, hour, minute, sec, meridiem = match.groups()
    a, b, c = int(first), int(second), int(third)
    if len(first) == 4:
        year, month, day = a, b, c
    else:
        year = c + 2000 if c < 100 else c
        if separator == "." or a > 12:
            is_day_first = True
        elif b > 12:
            is_day_first = False
        else:
            is_day_first = bool(day_first)
        day, month = (a, b) if is_day_first else (b, a)
    h = int(hour) if hour else 0
    if meridiem:
        if h > 12:
            return None
        h = h % 12 + (12 if meridiem in "Pp" else 0)
    try:
        return datetime(year, month, day, h, int(minute or 0), int(sec or 0))
    except ValueError:
        return None


def title_measurement(title: str) -> str | None:
    """The measurement a raw read's title starts with (see :data:`MEASUREMENT_TITLES`), else ``None``.

    Examples
    --------
    >>> title_measurement("Fluorescence Polarization 1_01"), title_measurement("Photometric 450")
    ('fluorescence_polarization', 'absorbance')
    >>> title_measurement("Blank Subtraction 1_02") is None
    True
    """
    lowered = title.lower()
    return next((measurement for word, measurement in MEASUREMENT_TITLES if lowered.startswith(word)), None)


def sniff_delimiter(sample: str, candidates: Iterable[str] = DELIMITERS, default: str | None = ",") -> str | None:
    """The candidate separator that occurs most often in ``sample``; ties go to the earlier candidate.

    ``default`` when none occurs. Pass the lines that must hold cells (a header line, the head of a file);
    formats whose header names the separator (``Plate,Repeat,Barcode``) should look for that header instead.

    Examples
    --------
    >>> sniff_delimiter("Well;Value;Unit"), sniff_delimiter("a,b;c"), sniff_delimiter("a\\tb,c", ("\\t", ","))
    (';', ',', '\\t')
    >>> sniff_delimiter("no cells here", default=None) is None
    True
    """
    counts = {delimiter: sample.count(delimiter) for delimiter in candidates}
    if not counts:
        return default
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else default


def split_cells(line: str, delimiter: str) -> list[str]:
    """One line of a delimited export as cells; quoted cells (``"1,5"``) are read the CSV way, others split as they are.

    Examples
    --------
    >>> split_cells("A,0.1,0.2", ","), split_cells('A;"1;5";2', ";")
    (['A', '0.1', '0.2'], ['A', '1;5', '2'])
    """
    if '"' in line:
        return next(csv.reader([line], delimiter=delimiter), [])
    return line.split(delimiter)


def numbered_name(name: str, taken: Container[str], separator: str) -> str:
    """``name`` itself, or, when it is taken, the first of ``name`` + ``separator`` + 2, 3, ... that is not.

    Examples
    --------
    >>> numbered_name("od", {"od", "od_2"}, "_"), numbered_name("Caffeine", set(), " #")
    ('od_3', 'Caffeine')
    """
    candidate = name
    number = 2
    while candidate in taken:
        candidate = f"{name}{separator}{number}"
        number += 1
    return candidate


def plate_size_in_name(text: str) -> int | None:
    """The well count a plate type's name states (``GRE96ft``, ``Corning 384 flat``): the first standard plate size
    standing alone as a number in it, else ``None``.

    Examples
    --------
    >>> plate_size_in_name("GRE96ft"), plate_size_in_name("Corning 384 flat"), plate_size_in_name("1536 LV")
    (96, 384, 1536)
    >>> plate_size_in_name("Plate 1") is None, plate_size_in_name("3960 wells") is None
    (True, True)
    """
    match = _PLATE_SIZE_RE.search(text)
    return int(match.group(1)) if match else None


def snake_case(text: str) -> str:
    """Lowercase snake case of a header or label.

    Examples
    --------
    >>> snake_case("RT-MS"), snake_case("Final Conc."), snake_case("Fluorescence intensity 1")
    ('rt_ms', 'final_conc', 'fluorescence_intensity_1')
    """
    return _SNAKE_RE.sub("_", text.lower()).strip("_")


def is_digits(text: str) -> bool:
    """Plain ASCII digits only (``str.isdigit`` also accepts superscripts such as ``²``).

    Examples
    --------
    >>> is_digits("12"), is_digits("²"), is_digits("")
    (True, False, False)
    """
    return text.isascii() and text.isdecimal()
