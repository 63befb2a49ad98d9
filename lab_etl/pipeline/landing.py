"""The landing area as the file system lists it: one listing per run, split into instrument files and side files.

A landing area::

    <landing>/                 instrument exports (any folders but the three below)
    <landing>/eln/             .eln archives (RO-Crate) and lab_etl's CSV/JSON ELN export (docs/eln_export.md)
    <landing>/layouts/         plate maps (.csv; plate id = file stem unless a plate column names it), wellmap
                               layouts (.toml), and pyGecko HTE plates (a folder <plate id>/ with plate_layout.csv
                               and meta_data.json)
    <landing>/reference/       ChEMBL downloads: chembl_XX_chemreps.txt(.gz), the chembl_XX SQLite file, or CSV
                               extracts whose name says the release (chembl_27_EGFR_compounds.csv)

Listing goes through Hadoop's FileSystem, so a local folder and an ``s3a://`` prefix are read the same way, and
0-byte files (which Spark's file sources skip) are listed too, so that empty uploads are accounted for.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab_etl.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: top-level folders of a landing area that hold no instrument files: ELN exports, plate layouts, reference data
SIDE_FOLDERS = ("eln", "layouts", "reference")

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#: Side files up to this size are read into memory; larger ones (a ChEMBL SQLite download is several GB) are
#: streamed to a local temporary file, hashed on the way, and handed to their reader as a path.
SIDE_FILE_IN_MEMORY_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class LandingFile:
    """One file of the landing area as the file system lists it."""

    path: str
    size_bytes: int
    modified_at: datetime


@dataclass
class Listing:
    """One landing area listed once: the instrument files and the files of each side folder."""

    landing: str
    instruments: list[LandingFile]
    side: dict[str, list[LandingFile]] = field(default_factory=dict)

    @property
    def files(self) -> list[LandingFile]:
        return self.instruments + [f for folder in SIDE_FOLDERS for f in self.side.get(folder, [])]


def hadoop_fs(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """Hadoop's FileSystem for ``path`` and the path as a Hadoop ``Path``."""
    jvm: Any = spark._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration()), hadoop_path  # type: ignore[attr-defined]


def path_exists(spark: SparkSession, path: str) -> bool:
    """True when ``path`` (local or ``s3a://``) exists."""
    fs, hadoop_path = hadoop_fs(spark, path)
    return bool(fs.exists(hadoop_path))


def list_files(spark: SparkSession, root: str, exclude: tuple[str, ...] = ()) -> list[LandingFile]:
    """Every file under ``root``, recursively, sorted by path.

    Hidden files and folders (``.x``, ``_x``) are left out, as Spark leaves them out, and so are the top-level
    folders named in ``exclude``.
    """
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


def list_landing(spark: SparkSession, landing: str, exclude: tuple[str, ...] = ()) -> list[LandingFile]:
    """The files of ``landing`` (see :func:`list_files`); kept for callers that list one folder."""
    return list_files(spark, landing, exclude)


def list_run(spark: SparkSession, landing: str) -> Listing:
    """The whole landing area in one listing, split into instrument files and the side folders' files."""
    every = list_files(spark, landing)
    fs, hadoop_root = hadoop_fs(spark, landing)
    root_text = fs.makeQualified(hadoop_root).toString().rstrip("/")
    listing = Listing(landing, [], {folder: [] for folder in SIDE_FOLDERS})
    for entry in every:
        relative = entry.path[len(root_text) :].lstrip("/") if entry.path.startswith(root_text) else entry.path
        top, _, rest = relative.partition("/")
        if rest and top in SIDE_FOLDERS:
            listing.side[top].append(entry)
        else:
            listing.instruments.append(entry)
    return listing


@dataclass
class SideFile:
    """A side file's content, read once on the driver: bytes for a small file, a local copy for a large one."""

    entry: LandingFile
    sha256: str
    data: bytes | None
    local_copy: Path | None = None

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.local_copy is not None
        return self.local_copy.read_bytes()


def read_side_file(
    spark: SparkSession, entry: LandingFile, *, in_memory_limit: int = SIDE_FILE_IN_MEMORY_BYTES
) -> SideFile:
    """Read one side file (local or ``s3a://``) on the driver, hashing it on the way.

    A file larger than ``in_memory_limit`` is streamed in 8 MiB chunks to a local temporary file, so that a
    several-GB ChEMBL download never sits whole in driver memory.
    """
    chunks = _chunks(spark, entry)
    digest = hashlib.sha256()
    if entry.size_bytes <= in_memory_limit:
        data = b"".join(chunks)
        digest.update(data)
        return SideFile(entry, digest.hexdigest(), data)
    name = entry.path.rsplit("/", 1)[-1]
    suffix = "".join(Path(name).suffixes[-2:])
    with tempfile.NamedTemporaryFile(prefix="lab_etl_side_", suffix=suffix, delete=False) as handle:
        for chunk in chunks:
            digest.update(chunk)
            handle.write(chunk)
    return SideFile(entry, digest.hexdigest(), None, Path(handle.name))


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
    """Remove the local copies of large side files."""
    for side in files:
        if side.local_copy is not None:
            side.local_copy.unlink(missing_ok=True)


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
