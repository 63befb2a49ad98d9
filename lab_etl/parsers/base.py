"""The parser protocol: :class:`InstrumentParser`, which every vendor parser subclasses, what ``lab-etl
instruments`` shows of it (:class:`ParserInfo`), and :class:`LinePass` / :class:`LinePassParser` for text exports
read line by line.

A parser knows bytes and one vendor's layout, nothing about Spark. It yields one
:class:`~lab_etl.parsers.reading.Reading` per well x measurement x read, or, where a file holds many cells (plate
grids, kinetic tables), fills a :class:`~lab_etl.parsers.columns.ReadingColumns` directly
(:meth:`InstrumentParser.parse_columns`); :mod:`lab_etl.parsers.registry` stamps the readings with their lineage
(source file, sha256, parser name and version).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from lab_etl.parsers.columns import ReadingColumns
from lab_etl.parsers.files import decode_text, default_plate_id
from lab_etl.parsers.reading import Reading


class LinePass(ABC):
    """One pass over the lines of one text file, for parsers that walk a file line by line.

    Holds the file's name (``source``, for errors), the plate id its name gives (``stem``), its ``lines``, whether
    it was cut off mid-line (``truncated``: the last line has no line end, so a short last row is a cut, not a
    layout) and the keys of the readings made so far (``seen``, to refuse a well read twice).
    """

    def __init__(self, text: str, name: str) -> None:
        self.source = name
        self.stem = default_plate_id(name)
        self.lines = text.splitlines()
        self.truncated = bool(text) and not text.endswith(("\n", "\r"))
        self.seen: set[tuple[str, str, str, str, int]] = set()

    @abstractmethod
    def readings(self) -> Iterator[Reading]:
        """Walk the lines and yield the file's readings; raise :class:`ParseError` where the file is broken."""


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

    ``version`` starts at ``"1"`` (the default); a parser whose readings change for the same file sets a higher one,
    which the registry stamps into every reading's ``parser_version``.

    ``sniff`` sees the decoded head of the file (see :func:`~lab_etl.parsers.files.head_text`), not raw bytes, so
    that BOMs, UTF-16 and workbooks are handled once for every vendor. ``parse`` sees the whole file.
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

    def parse_columns(self, data: bytes, name: str) -> ReadingColumns:
        """The file's readings as columns; the same readings, in the same order, as :meth:`parse`.

        Parsers of files with many cells override this to fill the columns without one :class:`Reading`
        per cell; the default collects :meth:`parse`.
        """
        return ReadingColumns.from_readings(self.parse(data, name))

    def info(self) -> ParserInfo:
        return ParserInfo(self.name, self.display_name, self.vendor, "native", self.extensions)


class LinePassParser(InstrumentParser):
    """A parser of text exports whose readings one :class:`LinePass` subclass (``line_pass``) collects.

    ``parse`` decodes the file (:func:`decode_text`) and runs one pass over it; subclasses set ``line_pass``
    besides the usual class attributes and implement ``sniff``.
    """

    line_pass: ClassVar[type[LinePass]]

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        yield from self.line_pass(decode_text(data, name), name).readings()
