"""The side inputs of a run: ELN exports, plate layouts and ChEMBL downloads -> silver and reference tables.

Side files are few and small next to instrument data (a ChEMBL download being the exception), so they are read on
the driver, and only the new ones: a side file already in ``lab_bronze.ingest_log`` is never read again. Each new
file is accounted for like an instrument file — parsed, quarantined (the reader raised a
:class:`~lab_etl.errors.LabEtlError`; bytes kept with the reason) or duplicate.

Reading and writing are apart: :func:`read_side_files` and :func:`parse_side_files` write nothing, so a run can
classify every new file (instrument and side) before its first write, and then write each table once:
:func:`write_side_inputs` upserts experiments, replaces the layouts and reagents of the plates the new files
describe (ELN first, layout files win for a plate both describe), and upserts the ChEMBL reference.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from lab_etl.contracts import contract
from lab_etl.errors import LabEtlError, ParseError
from lab_etl.lakehouse import delta
from lab_etl.lakehouse.frames import records_frame
from lab_etl.pipeline.ingest_log import FileOutcome
from lab_etl.pipeline.landing import QUARANTINE_CONTENT_BYTES, LandingFile, SideFile, local_path, read_side_file

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

    from lab_etl.chem import CompoundRecord
    from lab_etl.eln import ElnExport
    from lab_etl.layouts import Layout

log = logging.getLogger(__name__)

#: The ingest log's ``parser`` value for each side folder.
KINDS = {"eln": "eln", "layouts": "layout", "reference": "chembl"}


# ----------------------------------------------------------------------------------------------- readers


def read_eln_file(data: bytes, path: str) -> ElnExport:
    """An ELN export by content: a zip is an .eln archive, anything else lab_etl's CSV/JSON table."""
    from lab_etl.eln import read_eln_archive, read_eln_table

    return read_eln_archive(data, path) if data[:4] == b"PK\x03\x04" else read_eln_table(data, path)


def read_layout_file(data: bytes, path: str) -> list[Layout]:
    """A layout file by its kind: wellmap TOML, pyGecko HTE metadata, or a plate-map CSV."""
    from lab_etl import layouts

    name = PurePosixPath(path)
    suffix = name.suffix.lower()
    if suffix == ".toml":
        # wellmap follows `include`s relative to the file, so it reads from the folder, not from bytes
        return [layouts.read_wellmap(_local_file(path), name.stem)]
    if name.name == "meta_data.json":
        plate_id = name.parent.name
        sibling = str(name.parent / "plate_layout.csv")
        return [layouts.read_hte_plate(_read_bytes(sibling), data, path, plate_id)]
    if name.name == "plate_layout.csv" and _local_file(str(name.parent / "meta_data.json")).is_file():
        return []  # a pyGecko plate: read together with its meta_data.json
    if suffix in (".csv", ".tsv", ".txt"):
        return [layouts.read_plate_map_csv(data, path)]
    raise ParseError("not a layout file: expected a plate-map .csv, a wellmap .toml or a pyGecko meta_data.json", path)


def _local_file(path: str) -> Path:
    local = local_path(path)
    if local is None:
        raise ParseError("this layout file refers to sibling files; read it from a local folder", path)
    return local


def _read_bytes(path: str) -> bytes:
    try:
        return _local_file(path).read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read {exc.filename}: {exc.strerror}", path) from None


_RELEASE = re.compile(r"chembl_?(\d+)", re.IGNORECASE)


def read_reference_file(data: bytes | Path, path: str, default_release: str | None = None) -> list[CompoundRecord]:
    """ChEMBL compounds from a download or extract (bytes, or a local file for a large one: SQLite is opened in
    place, chemreps and CSV files are streamed line by line); the release comes from the file name
    (``chembl_27_...``), else from ``default_release``."""
    from lab_etl import chem

    name = PurePosixPath(path).name
    match = _RELEASE.search(name)
    if match is None and default_release is None:
        raise ParseError("the file name must say the ChEMBL release, e.g. chembl_27_compounds.csv", path)
    release = f"chembl_{match.group(1)}" if match else str(default_release)
    lowered = name.lower()
    if lowered.endswith((".db", ".sqlite", ".sqlite3")):
        if isinstance(data, Path):
            return list(chem.read_chembl_sqlite(str(data), release))
        with tempfile.NamedTemporaryFile(suffix=".db") as copy:
            copy.write(data)
            copy.flush()
            return list(chem.read_chembl_sqlite(copy.name, release))
    if isinstance(data, Path) and not lowered.endswith((".db", ".sqlite", ".sqlite3")):
        _check_text_head(data, path)
    if "chemreps" in lowered:
        return list(chem.read_chemreps(data, release, name=path))
    if lowered.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return list(chem.read_chembl_csv(data, release, path))
    raise ParseError("not a ChEMBL download: expected chemreps .txt(.gz), a SQLite .db or a .csv extract", path)


#: a ChEMBL text download's header line is short: a large file with no line end this early is not one
TEXT_HEAD_BYTES = 1024 * 1024


def _check_text_head(local: Path, path: str) -> None:
    """Refuse a large file whose first :data:`TEXT_HEAD_BYTES` (gunzipped) hold no line end: the line-by-line
    readers would otherwise hold one enormous "line" in memory."""
    import gzip

    with local.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    try:
        with gzip.open(local, "rb") if gzipped else local.open("rb") as stream:
            head = stream.read(TEXT_HEAD_BYTES)
    except (OSError, EOFError) as exc:
        raise ParseError(f"cannot read the file ({exc}); the download may be damaged, fetch it again", path) from None
    if b"\n" not in head and len(head) == TEXT_HEAD_BYTES:
        raise ParseError(f"no line end in the first {TEXT_HEAD_BYTES} bytes: not a ChEMBL text download", path)


# ----------------------------------------------------------------------------------- reading a run's side files


def read_side_files(spark: SparkSession, entries: list[LandingFile]) -> dict[str, SideFile]:
    """The content and digest of each new side file, read once on the driver (large ones as local files: the
    caller removes the temporary copies with :func:`lab_etl.pipeline.landing.discard`, also on failure)."""
    from lab_etl.pipeline.landing import discard

    files: dict[str, SideFile] = {}
    try:
        for entry in entries:
            files[entry.path] = read_side_file(spark, entry)
    except BaseException:
        discard(list(files.values()))
        raise
    return files


@dataclass
class SideBatch:
    """One side folder's new files after reading: outcomes, what the reader returned, the quarantine rows."""

    kind: str
    entries: list[LandingFile]
    files_seen: int
    outcomes: dict[str, FileOutcome] = field(default_factory=dict)
    items: list[tuple[str, Any]] = field(default_factory=list)
    quarantine_rows: list[tuple[Any, ...]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes.values() if o.status == status)


def parse_side_files(
    kind: str,
    entries: list[LandingFile],
    files: dict[str, SideFile],
    to_read: list[str],
    duplicates: dict[str, str],
    read: Callable[[SideFile], Any],
    run_id: str,
    now: datetime,
    files_seen: int,
) -> SideBatch:
    """Run ``read`` on each side file to read; a :class:`LabEtlError` quarantines the file with its reason."""
    batch = SideBatch(kind, entries, files_seen)
    for path in to_read:
        side = files[path]
        try:
            batch.items.append((path, read(side)))
            batch.outcomes[path] = FileOutcome("parsed", None, kind, 0, None)
        except LabEtlError as exc:
            reason = str(exc)
            content = side.head(QUARANTINE_CONTENT_BYTES)
            if len(content) < side.entry.size_bytes:
                reason += (
                    f" (the file is {side.entry.size_bytes} bytes: the quarantine keeps its first {len(content)}; "
                    "the whole file stays in the landing)"
                )
            batch.outcomes[path] = FileOutcome("quarantined", reason, kind, 0, None)
            row = (side.sha256, path, side.name, side.entry.size_bytes, reason, content, run_id, now)
            batch.quarantine_rows.append(row)
    for path, reason in duplicates.items():
        batch.outcomes[path] = FileOutcome("duplicate", reason, None, 0, None)
    return batch


def reader_for(folder: str, *, default_release: str | None = None) -> Callable[[SideFile], Any]:
    """The reader of a side folder's files, taking a :class:`SideFile`."""
    if folder == "eln":
        return lambda side: read_eln_file(side.read_bytes(), side.entry.path)
    if folder == "layouts":
        return lambda side: read_layout_file(side.read_bytes(), side.entry.path)
    if folder == "reference":
        read = partial(read_reference_file, default_release=default_release)
        return lambda side: read(side.local_file or side.read_bytes(), side.entry.path)
    raise ValueError(folder)


# ----------------------------------------------------------------------------------------------- writing


@dataclass
class SideWrite:
    """What :func:`write_side_inputs` did: report lines per folder, plates whose silver rows must be rebuilt, and
    whether the ChEMBL reference changed."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    plates: dict[str, set[str]] = field(default_factory=dict)  # by side folder: eln, layouts
    layout_plates: set[str] = field(default_factory=set)
    reference_changed: bool = False


def write_side_inputs(spark: SparkSession, batches: dict[str, SideBatch], *, standardise: bool = True) -> SideWrite:
    """Write what the new side files hold: one commit per table at most."""
    done = SideWrite()
    exports = [export for _, export in batches["eln"].items] if "eln" in batches else []
    experiments = [e for export in exports for e in export.experiments]
    eln_layouts = [layout for export in exports for layout in export.layouts]
    for export in exports:
        for warning in export.warnings:
            log.warning("ELN: %s", warning)
    if experiments:
        delta.upsert(spark, records_frame(spark, experiments, contract("eln_experiments")), contract("eln_experiments"))
    file_layouts = [layout for _, found in batches["layouts"].items for layout in found] if "layouts" in batches else []
    done.layout_plates = _write_layouts(spark, eln_layouts, file_layouts)
    done.plates["eln"] = _plates_of_experiments(experiments) | {layout.plate_id for layout in eln_layouts}
    done.plates["layouts"] = {layout.plate_id for layout in file_layouts}
    if "eln" in batches:
        side = batches["eln"]
        done.lines["eln"] = [
            f"{side.count('parsed')} ELN file(s) read, {side.count('quarantined')} quarantined, "
            f"{side.count('duplicate')} duplicate: {len(experiments)} experiment(s), {len(eln_layouts)} plate layout(s)"
        ]
    if "layouts" in batches:
        side = batches["layouts"]
        done.lines["layouts"] = [
            f"{side.count('parsed')} layout file(s) read, {side.count('quarantined')} quarantined, "
            f"{side.count('duplicate')} duplicate: {len(file_layouts)} plate(s)"
        ]
    if "reference" in batches:
        side = batches["reference"]
        records = [record for _, found in side.items for record in found]
        if records:
            _write_reference(spark, records, standardise=standardise)
            done.reference_changed = True
        done.lines["reference"] = [
            f"{side.count('parsed')} ChEMBL file(s) read, {side.count('quarantined')} quarantined, "
            f"{side.count('duplicate')} duplicate: {len(records)} compound(s)"
        ]
    return done


def _plates_of_experiments(experiments: Iterable[Any]) -> set[str]:
    import json

    plates: set[str] = set()
    for experiment in experiments:
        plates |= set(json.loads(experiment.plate_ids or "[]"))
    return plates


def _write_layouts(spark: SparkSession, eln_layouts: list[Layout], file_layouts: list[Layout]) -> set[str]:
    """Replace the wells and reagents of every plate the new layouts describe (a layout file wins over an ELN
    export for the same plate, as it is the more specific source)."""
    by_plate: dict[str, list[Layout]] = {}
    for layout in eln_layouts:
        by_plate.setdefault(layout.plate_id, []).append(layout)
    for plate in {layout.plate_id for layout in file_layouts}:
        by_plate[plate] = [layout for layout in file_layouts if layout.plate_id == plate]
    if not by_plate:
        return set()
    layouts = [layout for plate in sorted(by_plate) for layout in by_plate[plate]]
    plates = sorted(by_plate)
    wells = records_frame(spark, [w for layout in layouts for w in layout.wells], contract("plate_layouts"))
    reagents = records_frame(spark, [r for layout in layouts for r in layout.reagents], contract("well_reagents"))
    delta.replace_scope(spark, wells, contract("plate_layouts"), "plate_id", plates)
    delta.replace_scope(spark, reagents, contract("well_reagents"), "plate_id", plates)
    return set(plates)


def _parent_keys(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    from lab_etl import chem

    for batch in batches:
        keys = []
        for smiles in batch["canonical_smiles"]:
            try:
                # only the parent key is kept: the checker's messages (about 30 % of standardise's time) are not needed
                keys.append(chem.standardise_unchecked(smiles).parent_inchi_key if smiles else None)
            except LabEtlError:
                keys.append(None)
        out = batch[["chembl_id"]].copy()
        out["computed_parent_key"] = keys
        yield out


def _write_reference(spark: SparkSession, records: list[CompoundRecord], *, standardise: bool) -> None:
    """ChEMBL records -> ``lab_reference.chembl_compounds``, parent InChIKeys computed in parallel."""
    from pyspark.sql import functions as F

    frame = records_frame(spark, records, contract("chembl_compounds"))
    if standardise:
        missing = frame.where(F.col("parent_inchi_key").isNull() & F.col("canonical_smiles").isNotNull())
        parallelism = spark.sparkContext.defaultParallelism
        keys = (
            missing.select("chembl_id", "canonical_smiles")
            .repartition(parallelism * 2)
            .mapInPandas(_parent_keys, "chembl_id string, computed_parent_key string")
        )
        frame = frame.join(keys, "chembl_id", "left").withColumn(
            "parent_inchi_key", F.coalesce("parent_inchi_key", "computed_parent_key")
        )
    delta.upsert(spark, frame.dropDuplicates(["chembl_id"]), contract("chembl_compounds"))
