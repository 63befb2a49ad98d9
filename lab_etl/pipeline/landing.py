"""The landing area as the file system lists it: one listing per run, split into instrument files and side files.

A landing area::

    <landing>/                 instrument exports (any folders but the three below)
    <landing>/instruments.yaml optional routing file: which instrument wrote which folder (see below)
    <landing>/eln/             .eln archives (RO-Crate) and lab_etl's CSV/JSON ELN export (docs/eln_export.md)
    <landing>/layouts/         plate maps (.csv; plate id = file stem unless a plate column names it), wellmap
                               layouts (.toml), and pyGecko HTE plates (a folder <plate id>/ with plate_layout.csv
                               and meta_data.json)
    <landing>/reference/       ChEMBL downloads: chembl_XX_chemreps.txt(.gz), the chembl_XX SQLite file, or CSV
                               extracts whose name says the release (chembl_27_EGFR_compounds.csv)

Listing goes through Hadoop's FileSystem, so a local folder and an ``s3a://`` prefix are read the same way, and
0-byte files (which Spark's file sources skip) are listed too, so that empty uploads are accounted for.

Routing a whole lab's landing
-----------------------------
Instrument files are read by content, which works for every vendor with a native parser. Families only the
allotropy engine reads (a QuantStudio qPCR export, a CFX Maestro CSV, a Chromeleon JSON …) need their instrument
named. When each instrument PC syncs into its own prefix, the landing says so once, in ``<landing>/instruments.yaml``::

    # path inside the landing -> a name from `lab-etl instruments`
    routes:
      qpcr-quantstudio-7/: appbio_quantstudio   # a folder: every file under it
      qpcr-cfx/*.csv: cfxmaestro                # a glob (* also crosses folders)
      hplc/chromeleon/: benchling_chromeleon

The first entry that matches a file's path (relative to the landing) names its instrument; files no entry matches
keep detection by content. The file is read once per run and validated before anything is read or written: a
YAML error, an unknown key, a pattern outside the landing or in a side folder, or a name that is not an
instrument stops the run with one :class:`~lab_etl.errors.ConfigError` naming every bad entry and the valid
names. The routing file is configuration, not data: it is logged and reported with the run, never parsed as an
instrument file nor written to the ingest log. A folder's name alone never routes (a folder called
``tecan_magellan`` full of files the native Tecan parser reads must not switch them to allotropy); say it in
``instruments.yaml``.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab_etl.errors import ConfigError, ParseError
from lab_etl.lakehouse.spark import hadoop_fs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: top-level folders of a landing area that hold no instrument files: ELN exports, plate layouts, reference data
SIDE_FOLDERS = ("eln", "layouts", "reference")

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#: Side files up to this size are read into memory; larger ones (a ChEMBL SQLite download is several GB) are
#: streamed to a local temporary file, hashed on the way, and handed to their reader as a path.
SIDE_FILE_IN_MEMORY_BYTES = 256 * 1024 * 1024

#: the routing file at the landing's root: path prefixes or globs -> a `lab-etl instruments` name
ROUTING_FILE = "instruments.yaml"

#: a routing file larger than this is refused unread: it is a few lines of configuration
ROUTING_FILE_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LandingFile:
    """One file of the landing area as the file system lists it."""

    path: str
    size_bytes: int
    modified_at: datetime


@dataclass(frozen=True)
class Route:
    """One entry of the routing file: files whose landing-relative path matches ``pattern`` come from ``vendor``.

    A pattern with ``*``, ``?`` or ``[`` is a glob (:func:`fnmatch.fnmatchcase`, so ``*`` also crosses folders);
    any other pattern is a folder or file path: it matches itself and everything under it.
    """

    pattern: str
    vendor: str

    def matches(self, relative: str) -> bool:
        if any(c in self.pattern for c in "*?["):
            return fnmatch.fnmatchcase(relative, self.pattern)
        prefix = self.pattern.rstrip("/")
        return relative == prefix or relative.startswith(prefix + "/")


@dataclass(frozen=True)
class Routing:
    """The instrument of each routed file of a landing (small and picklable: it travels to the parse tasks).

    Examples
    --------
    >>> routing = Routing("file:/lab", (Route("qpcr/", "appbio_quantstudio"), Route("*.csv", "cfxmaestro")))
    >>> routing.vendor_for("file:/lab/qpcr/run1.txt"), routing.vendor_for("file:/lab/cfx/run.csv")
    ('appbio_quantstudio', 'cfxmaestro')
    >>> routing.vendor_for("file:/lab/plate.txt") is None
    True
    """

    root: str
    routes: tuple[Route, ...] = ()
    source: str | None = None

    def route_for(self, path: str) -> Route | None:
        """The first route matching ``path`` (as listed), or None."""
        if not self.routes:
            return None
        relative = relative_path(path, self.root)
        return next((route for route in self.routes if route.matches(relative)), None)

    def vendor_for(self, path: str) -> str | None:
        """The instrument the first matching route names for ``path`` (as listed), or None: detect by content."""
        route = self.route_for(path)
        return route.vendor if route else None


def parse_routing(text: str, source: str, instruments: Collection[str], *, root: str = "") -> Routing:
    r"""Validate a routing file's text (see the module docstring) into a :class:`Routing`.

    Raises
    ------
    ConfigError
        One error naming the file, every bad entry and, for an unknown instrument, the valid names.

    Examples
    --------
    >>> parse_routing("routes:\n  qpcr/: appbio_quantstudio\n", "instruments.yaml", ["appbio_quantstudio"]).routes
    (Route(pattern='qpcr/', vendor='appbio_quantstudio'),)
    >>> parse_routing("routes:\n  qpcr/: quantstudio\n", "instruments.yaml", ["appbio_quantstudio"])
    Traceback (most recent call last):
    ...
    lab_etl.errors.ConfigError: instruments.yaml: entry 'qpcr/: quantstudio' names no instrument (did you mean appbio_quantstudio?); valid names (lab-etl instruments): appbio_quantstudio
    """  # noqa: E501
    import yaml

    def fail(problems: list[str]) -> ConfigError:
        return ConfigError(f"{source}: " + "; ".join(problems))

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise fail([f"not valid YAML ({' '.join(str(exc).split())})"]) from None
    shape = "expected a mapping 'routes:' of path prefix or glob -> instrument name (see `lab-etl instruments`)"
    if not isinstance(document, dict) or "routes" not in document:
        raise fail([shape])
    unknown = sorted(str(key) for key in document if key != "routes")
    if unknown:
        raise fail([f"unknown key(s) {', '.join(unknown)}; {shape}"])
    entries = document["routes"]
    if not isinstance(entries, dict) or not entries:
        raise fail([f"'routes' is empty or not a mapping; {shape}"])
    valid = sorted(instruments)
    problems: list[str] = []
    routes = []
    for pattern, vendor in entries.items():
        entry = f"entry '{pattern}: {vendor}'"
        if not isinstance(pattern, str) or not pattern.strip():
            problems.append(f"{entry}: the path must be a non-empty text")
            continue
        pattern = pattern.strip().removeprefix("./")
        parts = pattern.split("/")
        if pattern.startswith("/") or "://" in pattern or ".." in parts:
            problems.append(f"{entry}: the path must be relative to the landing, without '..'")
            continue
        if parts[0] in SIDE_FOLDERS or parts[0] == ROUTING_FILE:
            problems.append(f"{entry}: {parts[0]}/ holds no instrument files")
            continue
        if not isinstance(vendor, str) or vendor not in instruments:
            close = difflib.get_close_matches(str(vendor), valid, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{entry} names no instrument{hint}; valid names (lab-etl instruments): {', '.join(valid)}")
            continue
        routes.append(Route(pattern, vendor))
    if problems:
        raise fail(problems)
    return Routing(root, tuple(routes), source)


def instrument_names() -> set[str]:
    """Every name ``lab-etl instruments`` lists (native parsers and allotropy vendors)."""
    from lab_etl.parsers.registry import list_instruments

    return {info.name for info in list_instruments()}


@dataclass
class Listing:
    """One landing area listed once: the instrument files, the files of each side folder and the routing."""

    landing: str
    instruments: list[LandingFile]
    side: dict[str, list[LandingFile]] = field(default_factory=dict)
    routing: Routing = field(default_factory=lambda: Routing(""))
    routing_file: LandingFile | None = None

    @property
    def files(self) -> list[LandingFile]:
        """The files the ingest log accounts for: all but the routing file, which is configuration."""
        return self.instruments + [f for folder in SIDE_FOLDERS for f in self.side.get(folder, [])]

    def routing_lines(self) -> list[str]:
        """What the routing file did, for the run's report."""
        if self.routing_file is None:
            return []
        matched = [self.routing.route_for(e.path) for e in self.instruments]
        lines = [
            f"{ROUTING_FILE}: {len(self.routing.routes)} route(s), "
            f"{sum(1 for r in matched if r)} of {len(matched)} instrument file(s) routed, the rest detected by content"
        ]
        for route in self.routing.routes:
            count = sum(1 for r in matched if r is route)
            warning = " (matches no file: is the path right?)" if not count else ""
            lines.append(f"{route.pattern} -> {route.vendor}: {count} file(s){warning}")
        return lines


def path_exists(spark: SparkSession, path: str) -> bool:
    """True when ``path`` (local or ``s3a://``) exists."""
    fs, hadoop_path = hadoop_fs(spark, path)
    return bool(fs.exists(hadoop_path))


def list_files(spark: SparkSession, root: str, exclude: tuple[str, ...] = ()) -> list[LandingFile]:
    """Every file under ``root``, recursively, sorted by path.

    Hidden files and folders (``.x``, ``_x``) are left out, as Spark leaves them out, and so are the top-level
    folders named in ``exclude``.
    """
    local = local_path(root)
    if local is not None:
        return _list_local(local, exclude)
    return _list_hadoop(spark, root, exclude)


def _list_hadoop(spark: SparkSession, root: str, exclude: tuple[str, ...]) -> list[LandingFile]:
    """:func:`list_files` through Hadoop's FileSystem (``s3a://`` and any other scheme)."""
    fs, hadoop_root = hadoop_fs(spark, root)
    if not fs.exists(hadoop_root):
        raise ConfigError(f"landing area {root} does not exist")
    root_text = fs.makeQualified(hadoop_root).toString().rstrip("/")
    found = []
    iterator = fs.listFiles(hadoop_root, True)
    while iterator.hasNext():
        status = iterator.next()
        path = status.getPath().toString()
        relative = path[len(root_text) :].lstrip("/") if path.startswith(root_text) else status.getPath().getName()
        parts = relative.split("/")
        if any(part.startswith((".", "_")) for part in parts) or (len(parts) > 1 and parts[0] in exclude):
            continue
        found.append(
            LandingFile(path, int(status.getLen()), datetime.fromtimestamp(status.getModificationTime() / 1000, UTC))
        )
    return sorted(found, key=lambda f: f.path)


def _list_local(root: Path, exclude: tuple[str, ...]) -> list[LandingFile]:
    """:func:`list_files` of a local folder with Python's own directory walk: the same entries Hadoop's local file
    system lists (``file:`` + the absolute path, the size, the modification time in whole milliseconds), without
    several JVM round trips per file (5 s for a landing of 1,500 files)."""
    import os

    base = Path(os.path.abspath(root))
    if not base.exists():
        raise ConfigError(f"landing area {root} does not exist")
    found = []
    for folder, folders, names in os.walk(base, followlinks=True):
        relative_folder = Path(folder).relative_to(base).parts
        if any(part.startswith((".", "_")) for part in relative_folder) or (
            relative_folder and relative_folder[0] in exclude
        ):
            folders[:] = []  # nothing below a hidden or excluded folder is listed
            continue
        for name in names:
            if name.startswith((".", "_")):
                continue
            path = os.path.join(folder, name)
            status = os.stat(path)
            modified = datetime.fromtimestamp((status.st_mtime_ns // 1_000_000) / 1000, UTC)
            found.append(LandingFile(f"file:{path}", status.st_size, modified))
    return sorted(found, key=lambda f: f.path)


def relative_path(path: str, root: str) -> str:
    """``path`` relative to the landing ``root`` (both as listed, qualified)."""
    return path[len(root) :].lstrip("/") if root and path.startswith(root) else path


def list_run(spark: SparkSession, landing: str, *, instruments: Collection[str] | None = None) -> Listing:
    """The whole landing area in one listing, split into instrument files and the side folders' files, with the
    landing's routing file read and validated (``instruments``: the valid names; default every
    ``lab-etl instruments`` name).

    Raises
    ------
    ConfigError
        The landing does not exist, or its routing file is broken (nothing has been read or written yet).
    """
    every = list_files(spark, landing)
    fs, hadoop_root = hadoop_fs(spark, landing)
    root_text = fs.makeQualified(hadoop_root).toString().rstrip("/")
    listing = Listing(landing, [], {folder: [] for folder in SIDE_FOLDERS}, Routing(root_text))
    for entry in every:
        relative = relative_path(entry.path, root_text)
        top, _, rest = relative.partition("/")
        if relative == ROUTING_FILE:
            listing.routing_file = entry
        elif rest and top in SIDE_FOLDERS:
            listing.side[top].append(entry)
        else:
            listing.instruments.append(entry)
    if listing.routing_file is not None:
        listing.routing = read_routing(spark, listing.routing_file, root_text, instruments)
        for line in listing.routing_lines():
            log.info("routing: %s", line)
    return listing


def read_routing(
    spark: SparkSession, entry: LandingFile, root: str, instruments: Collection[str] | None = None
) -> Routing:
    """Read and validate the routing file ``entry`` of the landing ``root`` (see the module docstring)."""
    if entry.size_bytes > ROUTING_FILE_MAX_BYTES:
        raise ConfigError(
            f"{entry.path}: {entry.size_bytes} bytes is not a routing file (at most {ROUTING_FILE_MAX_BYTES}); "
            f"{ROUTING_FILE} maps a few folders to instrument names"
        )
    data = b"".join(_chunks(spark, entry))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{entry.path}: the routing file is not UTF-8 text") from None
    names = instrument_names() if instruments is None else instruments
    return parse_routing(text, entry.path, names, root=root)


#: A quarantined side file keeps at most this many of its first bytes in ``lab_bronze.quarantine`` (the reason says
#: so, and the whole file stays in the landing): a broken several-GB download must not be loaded to be kept.
QUARANTINE_CONTENT_BYTES = 64 * 1024 * 1024


@dataclass
class SideFile:
    """A side file's content, read once on the driver: bytes for a small file, a local file for a large one.

    A large file is never held whole in memory: ``local_file`` is the landing's own file when the landing is a
    local folder, else a temporary copy (``temporary``) that :func:`discard` removes.
    """

    entry: LandingFile
    sha256: str
    data: bytes | None
    local_file: Path | None = None
    temporary: bool = False

    @property
    def name(self) -> str:
        return self.entry.path.rsplit("/", 1)[-1]

    def read_bytes(self) -> bytes:
        """The whole content; refused (:class:`~lab_etl.errors.ParseError`) for a file too large to hold in memory."""
        if self.data is not None:
            return self.data
        raise ParseError(
            f"the file is {self.entry.size_bytes} bytes; side files above {SIDE_FILE_IN_MEMORY_BYTES} bytes are "
            "only read by readers that stream (ChEMBL SQLite, chemreps and CSV downloads); split or shrink it",
            self.entry.path,
        )

    def head(self, limit: int) -> bytes:
        """At most the first ``limit`` bytes of the content, without reading the rest."""
        if self.data is not None:
            return self.data[:limit]
        assert self.local_file is not None
        with self.local_file.open("rb") as handle:
            return handle.read(limit)


def read_side_file(
    spark: SparkSession, entry: LandingFile, *, in_memory_limit: int = SIDE_FILE_IN_MEMORY_BYTES
) -> SideFile:
    """Read one side file (local or ``s3a://``) on the driver, hashing it on the way.

    A file larger than ``in_memory_limit`` is hashed in 8 MiB chunks and never held whole in memory: a local file
    is handed to its reader where it lies; a remote one is streamed to a temporary local copy under its own name
    (runs of zero bytes become holes, so a sparse file stays sparse), removed by :func:`discard`.
    """
    digest = hashlib.sha256()
    if entry.size_bytes <= in_memory_limit:
        data = b"".join(_chunks(spark, entry))
        digest.update(data)
        return SideFile(entry, digest.hexdigest(), data)
    local = local_path(entry.path)
    if local is not None:
        for chunk in _chunks(spark, entry):
            digest.update(chunk)
        return SideFile(entry, digest.hexdigest(), None, local)
    copy = copy_to_temporary(_chunks(spark, entry), entry.path.rsplit("/", 1)[-1], digest)
    return SideFile(entry, digest.hexdigest(), None, copy, temporary=True)


def copy_to_temporary(chunks: Iterator[bytes], name: str, digest: Any = None) -> Path:
    """Write ``chunks`` to ``name`` in a new temporary folder (updating ``digest`` on the way); zero chunks are
    skipped as holes, so copying a sparse file takes no more disk than the original. Removed again on failure."""
    folder = Path(tempfile.mkdtemp(prefix="lab_etl_side_"))
    target = folder / name
    zeros = bytes(CHUNK_BYTES)
    try:
        with target.open("wb") as handle:
            for chunk in chunks:
                if digest is not None:
                    digest.update(chunk)
                if len(chunk) <= len(zeros) and chunk == zeros[: len(chunk)]:  # a full-length slice is no copy
                    handle.seek(len(chunk), 1)
                else:
                    handle.write(chunk)
            handle.truncate()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return target


CHUNK_BYTES = 8 * 1024 * 1024


def _chunks(spark: SparkSession, entry: LandingFile) -> Iterator[bytes]:
    """The file's bytes in chunks: local files with Python, others through Hadoop's FileSystem."""
    local = local_path(entry.path)
    if local is not None:
        with local.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk
        return
    jvm: Any = spark._jvm
    fs, hadoop_path = hadoop_fs(spark, entry.path)
    stream = fs.open(hadoop_path)
    try:
        remaining = entry.size_bytes
        while remaining > 0:
            size = min(remaining, CHUNK_BYTES)
            yield bytes(jvm.org.apache.commons.io.IOUtils.toByteArray(stream, size))
            remaining -= size
    finally:
        stream.close()


def local_path(path: str) -> Path | None:
    """The local file of a ``file:`` URI or plain path; None for remote URIs (``s3a://`` …)."""
    import re

    if path.startswith("file:"):
        return Path(re.sub(r"^file:(//)?", "", path))
    if "://" in path:
        return None
    return Path(path)


def discard(files: list[SideFile]) -> None:
    """Remove the temporary copies of large remote side files (never a landing's own file)."""
    for side in files:
        if side.temporary and side.local_file is not None:
            shutil.rmtree(side.local_file.parent, ignore_errors=True)


def landing_key(bucket: str, key: str, landing_prefix: str) -> str:
    """The ``s3a://`` path of an S3 event's object key, refused unless it lies inside the landing prefix.

    S3 event notifications URL-encode keys (``+`` for a space, ``%xx``); the key is decoded first, then checked, so
    that an encoded ``..`` cannot climb out of the landing area into, say, the warehouse.

    Examples
    --------
    >>> landing_key("lab-landing", "landing/run%201/plate.csv", "landing/")
    's3a://lab-landing/landing/run 1/plate.csv'
    """
    from urllib.parse import unquote_plus

    prefix = landing_prefix.strip("/") + "/"
    decoded = unquote_plus(key)
    parts = decoded.split("/")
    if not decoded or decoded.startswith("/") or any(part in ("..", ".") for part in parts):
        raise ConfigError(f"S3 key {key!r} is not a plain path inside the landing prefix {prefix!r}; refused")
    if not decoded.startswith(prefix) or decoded == prefix:
        raise ConfigError(f"S3 key {key!r} is outside the landing prefix {prefix!r}; refused")
    return f"s3a://{bucket}/{decoded}"
