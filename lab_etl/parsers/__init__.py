"""Instrument parsers: bytes in, readings out (:class:`~lab_etl.parsers.columns.ReadingColumns` for Arrow,
:class:`~lab_etl.parsers.reading.Reading` records on demand). No Spark here."""

from __future__ import annotations

from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.columns import ReadingColumns
from lab_etl.parsers.reading import Reading
from lab_etl.parsers.registry import ParsedFile, detect, parse_bytes

__all__ = ["InstrumentParser", "ParsedFile", "Reading", "ReadingColumns", "detect", "parse_bytes"]
