"""The one table of instrument parsers, content detection, and :func:`parse_bytes`, the single entry
point every caller (CLI, Spark ingest, tests) uses to turn a file into readings: columns for Arrow
(:meth:`ParsedFile.to_arrow`), :class:`Reading` objects on demand (:attr:`ParsedFile.readings`).

Adding a vendor = writing ``lab_etl/parsers/<vendor>.py`` with a module-level ``PARSER`` and adding
its module name to :data:`NATIVE_MODULES`. Order matters for detection: specific formats first, the
generic grid and long CSV parsers last.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from lab_etl import __version__
from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser, ParserInfo
from lab_etl.parsers.columns import ReadingColumns
from lab_etl.parsers.files import head_text
from lab_etl.parsers.reading import READING_FIELDS, Reading

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

#: Native parser modules in detection order (most specific first, generic formats last).
NATIVE_MODULES: tuple[str, ...] = (
    "agilent_gen5",
    "agilent_gen5_csv",
    "moldev_softmax_pro",
    "perkin_elmer_envision",
    "revvity_kaleido",
    "bmg_mars",
    "methodical_mind",
    "tecan",
    "thermo_skanit",
    "bmg_smart_control",
    "agilent_masshunter",
    "plate_grid",
    "long_csv",
)

ENGINES = ("auto", "native", "allotropy")


@dataclass
class ParsedFile:
    """The outcome of parsing one file: which parser read it and the readings it gave, as columns.

    :meth:`to_arrow` is what a pipeline writes; :attr:`readings` builds :class:`Reading` objects (once) for
    callers that want records.
    """

    source_file: str
    source_sha256: str
    parser: str
    engine: str
    columns: ReadingColumns
    parser_version: str = ""
    _readings: list[Reading] | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def readings(self) -> list[Reading]:
        """The readings as :class:`Reading` objects stamped with their lineage, in the parser's order."""
        if self._readings is None:
            self._readings = self.columns.readings(**self._lineage())
        return self._readings

    def _lineage(self) -> dict[str, str]:
        return {
            "source_file": self.source_file,
            "source_sha256": self.source_sha256,
            "parser": self.parser,
            "parser_version": self.parser_version,
        }

    def to_arrow(self, schema: pa.Schema) -> pa.Table:
        r"""The readings as an Arrow table of exactly ``schema``'s fields, in its order and types.

        Reading fields and lineage (source_file, source_sha256, parser, parser_version) fill the fields of the
        same name; any other field of ``schema`` is all null. Raises ``pyarrow.ArrowInvalid`` or
        ``pyarrow.ArrowTypeError`` when a field's type cannot hold the readings' values (e.g. ``well`` as int).

        Examples
        --------
        >>> import pyarrow as pa
        >>> parsed = parse_bytes(b",1,2,3,4,5,6,7,8,9,10,11,12\n" + b"".join(
        ...     bytes(row, "ascii") + b",1,2,3,4,5,6,7,8,9,10,11,12\n" for row in "ABCDEFGH"), "p1.csv")
        >>> schema = pa.schema([("well", pa.string()), ("value", pa.float64()), ("run_id", pa.string())])
        >>> table = parsed.to_arrow(schema)
        >>> table.num_rows, table.column("well")[0].as_py(), table.column("run_id").null_count
        (96, 'A01', 96)
        """
        import pyarrow as pa

        count = len(self.columns)
        lineage = self._lineage()
        arrays = []
        for target in schema:
            if target.name in lineage:
                arrays.append(pa.repeat(pa.scalar(lineage[target.name], type=target.type), count))
            elif target.name in _READING_FIELD_SET:
                arrays.append(self.columns.arrow(target.name, target.type))
            else:
                arrays.append(pa.nulls(count, type=target.type))
        return pa.Table.from_arrays(arrays, schema=schema)


_READING_FIELD_SET = frozenset(READING_FIELDS)


@lru_cache(maxsize=1)
def native_parsers() -> tuple[InstrumentParser, ...]:
    """Every native parser, in detection order."""
    parsers = []
    for module_name in NATIVE_MODULES:
        module = importlib.import_module(f"lab_etl.parsers.{module_name}")
        parsers.append(module.PARSER)
    return tuple(parsers)


def native_parser(name: str) -> InstrumentParser | None:
    """The native parser called ``name``, or None."""
    return next((p for p in native_parsers() if p.name == name), None)


def list_instruments() -> list[ParserInfo]:
    """Every parser lab_etl can use, native first, then the allotropy vendors the native engine lacks."""
    from lab_etl.parsers import allotropy_adapter

    infos = [p.info() for p in native_parsers()]
    native_names = {p.name for p in native_parsers()}
    infos += [info for info in allotropy_adapter.vendor_infos() if info.name not in native_names]
    return infos


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def detect(data: bytes, name: str) -> InstrumentParser:
    """The native parser whose ``sniff`` accepts the file's content.

    The file extension only breaks ties: a parser that claims the extension wins over one that
    does not. Raises :class:`ParseError` when no parser recognises the file.
    """
    head = head_text(data, name)
    if not head.strip():
        if not data:
            raise ParseError("the file is empty (0 bytes)", name)
        raise ParseError("the file is neither a text export nor an Excel workbook", name)
    candidates = [p for p in native_parsers() if _safe_sniff(p, head)]
    if not candidates:
        raise ParseError(
            "no instrument parser recognises this file; name the instrument with --vendor "
            "(see `lab-etl instruments`) or check that it is an unmodified instrument export",
            name,
        )
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    by_extension = [p for p in candidates if suffix and suffix in p.extensions]
    return (by_extension or candidates)[0]


def _safe_sniff(parser: InstrumentParser, head: str) -> bool:
    try:
        return bool(parser.sniff(head))
    except Exception:  # a sniff must never break detection for the other vendors
        log.exception("sniff of %s raised; treating as no match", parser.name)
        return False


def parse_bytes(
    data: bytes, name: str, *, vendor: str | None = None, engine: str = "auto", sha256: str | None = None
) -> ParsedFile:
    """Parse one file's bytes into readings with their lineage.

    Parameters
    ----------
    data:
        The whole file.
    name:
        The file's name or path (used for messages, plate ids and lineage).
    vendor:
        A parser name (``lab-etl instruments``) that skips detection.
    engine:
        ``auto`` (native when a native parser exists, else allotropy), ``native`` or ``allotropy``.
    sha256:
        The hex SHA-256 of ``data`` when the caller has it already (it is not checked); else computed here.

    Raises
    ------
    ParseError
        For every file that cannot be read, with a reason a lab technician understands; an
        unexpected failure inside a parser is reported as a ParseError naming the parser.
    """
    if engine not in ENGINES:
        raise ParseError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}", name)
    if not data:
        raise ParseError("the file is empty (0 bytes)", name)
    use_allotropy = engine == "allotropy" or (engine == "auto" and vendor is not None and native_parser(vendor) is None)
    if use_allotropy:
        from lab_etl.parsers import allotropy_adapter

        if vendor is None:
            raise ParseError("the allotropy engine needs --vendor (see `lab-etl instruments`)", name)
        parser_name, parser_version = f"allotropy:{vendor}", allotropy_adapter.allotropy_version()
        allotropy_vendor = vendor
        run: Callable[[], ReadingColumns] = lambda: ReadingColumns.from_readings(  # noqa: E731
            allotropy_adapter.parse(data, name, allotropy_vendor)
        )
        used_engine = "allotropy"
    else:
        if vendor is not None:
            parser = native_parser(vendor)
            if parser is None:
                raise ParseError(f"no native parser called '{vendor}' (see `lab-etl instruments`)", name)
        else:
            parser = detect(data, name)
        parser_name, parser_version = parser.name, f"{__version__}+{parser.version}"
        native = parser
        run = lambda: native.parse_columns(data, name)  # noqa: E731
        used_engine = "native"
    try:
        columns = run()
    except ParseError as exc:
        if exc.source is None:
            raise ParseError(exc.reason, name, exc.line) from None
        raise
    except Exception as exc:
        raise ParseError(f"the {parser_name} parser failed unexpectedly ({type(exc).__name__}: {exc})", name) from exc
    if not len(columns):
        raise ParseError(f"the {parser_name} parser found no well readings in this file", name)
    _check_unique(columns, name)
    digest = sha256 if sha256 is not None else sha256_hex(data)
    return ParsedFile(name, digest, parser_name, used_engine, columns, parser_version)


def _check_unique(columns: ReadingColumns, name: str) -> None:
    duplicate = columns.duplicate_key()
    if duplicate is not None:
        plate, well, measurement, channel, read = duplicate
        raise ParseError(
            f"well {well} of plate {plate} has two {measurement} values for channel '{channel}', read {read}; "
            "the file is ambiguous",
            name,
        )
