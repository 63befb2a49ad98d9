"""The one exception family of lab_etl.

Every error a user can meet is a :class:`LabEtlError`; its message names the file, line or well
at fault and, where one exists, the fix.
"""

from __future__ import annotations


class LabEtlError(Exception):
    """Base class of every error lab_etl raises on purpose."""


class ConfigError(LabEtlError):
    """A configuration file, option or environment is wrong (missing jar, bad YAML, bad option)."""


class ParseError(LabEtlError):
    """An instrument or layout file cannot be read.

    Parameters
    ----------
    reason:
        What is wrong, in words a lab technician understands.
    source:
        The file name, when known.
    line:
        The 1-based line number the problem was found on, when known.
    """

    def __init__(self, reason: str, source: str | None = None, line: int | None = None) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        where = source or ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        super().__init__(f"{where}: {reason}" if where else reason)


class DataQualityError(LabEtlError):
    """A batch failed a data-quality gate and was not published."""
