"""Instrument parsers: bytes in, :class:`~lab_etl.parsers.base.Reading` records out. No Spark here."""

from __future__ import annotations

from lab_etl.parsers.base import InstrumentParser, Reading
from lab_etl.parsers.registry import ParsedFile, detect, parse_bytes

__all__ = ["InstrumentParser", "ParsedFile", "Reading", "detect", "parse_bytes"]
