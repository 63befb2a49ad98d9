"""Instrument parsers: bytes in, readings out (:class:`~lab_etl.parsers.base.ReadingColumns` for Arrow,
:class:`~lab_etl.parsers.base.Reading` records on demand). No Spark here."""

from __future__ import annotations

from lab_etl.parsers.base import InstrumentParser, Reading, ReadingColumns
from lab_etl.parsers.registry import ParsedFile, detect, parse_bytes

__all__ = ["InstrumentParser", "ParsedFile", "Reading", "ReadingColumns", "detect", "parse_bytes"]
