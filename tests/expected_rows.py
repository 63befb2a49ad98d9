"""Expected rows: a stable summary of every lakehouse table after a pipeline run, and the comparison with it.

A faster pipeline must give the same rows. :func:`summarise` reads every contract table
(:func:`lab_etl.contracts.all_tables`) after a run and reduces it to what must not change: the row count, a SHA-256
over the sorted, canonicalised rows, and the natural keys (each with a digest of its row, or digests per group of
keys when the table is large). What a run legitimately changes is left out or normalised:

- run ids become ``run-1``, ``run-2`` ... in the order the runs started (``lab_bronze.ingest_runs``);
- timestamps the run writes (``logged_at``, ``quarantined_at``, ``evaluated_at``, ``started_at``, ``finished_at``)
  and the landing files' modification times (``modified_at``: a checkout or a generated landing sets them) are
  left out; timestamps read from the files (``read_at``, ``created_at``) are kept;
- the landing and warehouse folders inside any text (``source_file``, ``path``, ``layout_source``, ``landing``,
  reasons) become ``<landing>`` and ``<warehouse>``, so that the landing may live anywhere;
- floats are rounded to 9 significant digits (the order of an aggregation may change the last bits);
- binary cells (``quarantine.content``) become the SHA-256 of their bytes;
- ``parser_version`` keeps the parser's own version but not lab_etl's (``0.1.0+2`` is ``<lab_etl>+2``): a release
  of lab_etl that changes no parser changes no reading.

``lab_bronze.dq_results`` is the gates' bookkeeping: only what an expectation is and its verdict on the batch are
compared (see :data:`STABLE_COLUMNS`); the sample of offending values a gate keeps depends on row order. Its
element counts are kept: a gate that saw other rows validated another batch. ``lab_bronze.run_plates`` (which
plates each step touched) is compared in full: a rewrite that passes the plates in memory instead changes that
table, and the stored summaries must then be refreshed on purpose, with the reason in the commit.

The stored expectations live in ``tests/data/expected/``, one JSON file per landing (:data:`LANDINGS`):
``demo`` (``examples/landing``) and ``bench`` (a small landing written by ``bench/generate.py`` at run time).
Refresh them only from a pipeline whose rows are known to be right:

    python -m tests.expected_rows --write          # run each landing in a fresh warehouse, store the summaries
    python -m tests.expected_rows --check          # run again and compare with the stored files

Examples
--------
>>> canonical(0.1 + 0.2), canonical(-0.0), canonical(b"abc")[:15]
(0.3, 0.0, 'sha256:ba7816bf')
>>> _diff_lines({"a": 1}, {"a": 1})
[]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import shutil
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "data"
EXPECTED_DIR = DATA_DIR / "expected"
DEMO_LANDING = ROOT / "examples" / "landing"

#: Columns whose value is the moment the run wrote the row, or the landing file's modification time.
VOLATILE_COLUMNS = frozenset(
    {"ingested_at", "logged_at", "quarantined_at", "evaluated_at", "started_at", "finished_at", "modified_at"}
)
#: Columns holding a run id, replaced by the run's ordinal.
RUN_COLUMNS = frozenset({"run_id"})
#: Run bookkeeping: only these columns are compared (what the expectation is, and the batch's verdict on it).
#: ``unexpected_values_json`` (a sample of up to 5 offending values) and ``reason`` (which quotes them) depend on
#: the order of the rows; ``evaluated_at`` is a time.
STABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "dq_results": (
        "run_id",
        "table_name",
        "expectation_key",
        "expectation_type",
        "column_name",
        "kwargs_json",
        "origin",
        "success",
        "element_count",
        "unexpected_count",
        "unexpected_percent",
        "observed_value_json",
    ),
}
SIGNIFICANT_DIGITS = 9
#: Up to this many rows, every natural key is stored with its row's digest; above, digests per group of keys.
KEYS_IN_FULL = 1000
#: How many differing keys or groups a diff shows per table.
SHOWN = 5


@dataclass(frozen=True)
class Landing:
    """A fixture landing: ``examples/landing``, one ``bench/generate.py`` writes (plates, format, seed), or one put
    together from test files (``files``: path in the landing -> file under ``tests/data``, or under
    ``examples/landing`` when it starts with ``examples/landing/``)."""

    name: str
    plates: int = 0
    plate_format: int = 96
    seed: int = 0
    files: tuple[tuple[str, str], ...] = ()
    #: False: the summary leaves run ids out instead of numbering the runs (see :func:`summarise`)
    run_ids: bool = True

    @property
    def expected_file(self) -> Path:
        return EXPECTED_DIR / f"{self.name}.json"

    def materialise(self, folder: Path) -> Path:
        """The landing folder: the demo landing itself, or the landing written under ``folder``."""
        if self.files:
            landing = folder / f"landing_{self.name}"
            for target, source in self.files:
                path = landing / target
                path.parent.mkdir(parents=True, exist_ok=True)
                demo = source.removeprefix("examples/landing/")
                shutil.copy(DEMO_LANDING / demo if demo != source else DATA_DIR / source, path)
            return landing
        if not self.plates:
            return DEMO_LANDING
        manifest = bench_generator().generate(
            folder / f"landing_{self.plates}x{self.plate_format}_seed{self.seed}",
            self.plates,
            plate_format=self.plate_format,
            seed=self.seed,
        )
        return Path(manifest.landing)


#: 10 plates of 96 wells, seed 1: every vendor layout twice (plates are dealt round-robin to five), and two
#: experiments of 8 plates, the first with an ELN export and the second with plate maps (seed 0 gives ELN to both).
#: ``chain`` is the landing of the chained SIGKILL test (tests/reliability/test_crash_recovery.py): an LC-MS plate
#: with its ELN layout, a plate-reader plate without one, the same bytes again under another name, a bad file and a
#: ChEMBL download; it reaches every layer. Its runs are killed, so its summary leaves run ids out.
LANDINGS = {
    "demo": Landing("demo"),
    "bench": Landing("bench", plates=10, plate_format=96, seed=1),
    "chain": Landing(
        "chain",
        files=(
            ("instruments/lcms/THIO-1.csv", "hte/thiolation_plate_yield.csv"),
            ("instruments/plate_readers/gen5 endpoint.txt", "instruments/agilent_gen5/endpoint_singleplate.txt"),
            (
                "instruments/plate_readers/gen5 endpoint (copy).txt",
                "instruments/agilent_gen5/endpoint_singleplate.txt",
            ),
            (
                "instruments/plate_readers/bad export.txt",
                "instruments/moldev_softmax_pro/errors/missing_measurement_table_row.txt",
            ),
            ("eln/hte_thiolation_eln.csv", "eln/hte_thiolation_eln.csv"),
            (
                "reference/chembl_27_EGFR_compounds_first500.csv",
                "examples/landing/reference/chembl_27_EGFR_compounds_first500.csv",
            ),
        ),
        run_ids=False,
    ),
}


def bench_generator() -> ModuleType:
    """``bench/generate.py`` as a module (bench/ is not a package)."""
    name = "lab_etl_bench_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------------ canonical rows


def canonical(value: Any, replacements: Sequence[tuple[str, str]] = ()) -> Any:
    """One cell as a JSON-able value that does not depend on where or when the run happened.

    Floats keep :data:`SIGNIFICANT_DIGITS` significant digits (``-0.0`` is ``0.0``; NaN and infinities become
    strings), bytes their SHA-256, datetimes their ISO text (the session's time zone is UTC), and every
    ``(old, new)`` of ``replacements`` is applied to text.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        rounded = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
        return rounded if rounded != 0 else 0.0
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): canonical(v, replacements) for k, v in sorted(value.items())}
    if hasattr(value, "asDict"):  # a nested Row
        return canonical(value.asDict(recursive=False), replacements)
    if isinstance(value, list | tuple):
        return [canonical(v, replacements) for v in value]
    raise TypeError(f"no canonical form for a cell of type {type(value).__name__}: {value!r}")


def path_replacements(landing: Path, warehouse: Path | None = None) -> list[tuple[str, str]]:
    """``(folder as written, placeholder)`` pairs, longest first: plain paths and ``file:`` URIs of both folders."""
    pairs: dict[str, str] = {}
    for folder, placeholder in ((landing, "<landing>"), (warehouse, "<warehouse>")):
        if folder is None:
            continue
        for form in {str(folder), str(Path(folder).resolve())}:
            form = form.rstrip("/")
            for written in (f"file://{form}", f"file:{form}", form):
                pairs[written] = placeholder
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _sha256(lines: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _without_lab_etl_version(parser_version: str) -> str:
    from lab_etl import __version__

    prefix = f"{__version__}+"
    return "<lab_etl>+" + parser_version[len(prefix) :] if parser_version.startswith(prefix) else parser_version


def _key_text(values: Sequence[Any]) -> str:
    return "|".join("null" if v is None else str(v) for v in values)


# ------------------------------------------------------------------------------------------------ the summary


class TableReader(Protocol):
    """Where a summary reads its tables: the columns of a contract table and its rows, or None when it does not
    exist. :func:`catalog_reader` reads a session's catalog; :func:`folder_reader` reads Delta folders by path."""

    def __call__(self, table: str) -> tuple[list[str], Callable[[list[str]], Iterable[Sequence[Any]]]] | None: ...


def catalog_reader(spark: SparkSession) -> TableReader:
    """The tables as ``spark`` knows them by name (the lakehouse the session ran the pipeline in)."""
    from lab_etl.contracts import contract

    def read(table: str) -> tuple[list[str], Callable[[list[str]], Iterable[Sequence[Any]]]] | None:
        name = contract(table).qualified_name
        if not spark.catalog.tableExists(name):
            return None
        frame = spark.table(name)
        return list(frame.columns), lambda columns: frame.select(*columns).collect()

    return read


def table_folder(warehouse: Path, table: str) -> Path:
    """The Delta folder of a contract table in a local warehouse: ``<warehouse>/<database>.db/<table>``."""
    from lab_etl.contracts import contract

    spec = contract(table)
    return warehouse / f"{spec.database}.db" / spec.table


def folder_reader(warehouse: Path) -> TableReader:
    """The tables of a local warehouse folder read by path with the ``deltalake`` package: no Spark and no JVM,
    so a warehouse another process wrote (or was killed writing) is read as its last whole commit. A folder without
    a commit is a table that does not exist. Timestamps come back as Spark collects them (UTC, without a zone)."""

    def read(table: str) -> tuple[list[str], Callable[[list[str]], Iterable[Sequence[Any]]]] | None:
        from deltalake import DeltaTable

        folder = table_folder(warehouse, table)
        log = folder / "_delta_log"
        if not log.is_dir() or not any(p.name.endswith(".json") for p in log.iterdir()):
            return None
        arrow = DeltaTable(str(folder)).to_pyarrow_table()

        def rows(columns: list[str]) -> Iterable[Sequence[Any]]:
            values = [[_naive_utc(v) for v in arrow.column(c).to_pylist()] for c in columns]
            return zip(*values, strict=True) if values else ()

        return list(arrow.column_names), rows

    return read


def _naive_utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def run_ordinals(read: TableReader) -> dict[str, str]:
    """``run id -> run-<n>``, numbered in the order the runs started (``lab_bronze.ingest_runs``)."""
    found = read("ingest_runs")
    if found is None:
        return {}
    rows = sorted((started, run) for run, started in found[1](["run_id", "started_at"]))
    return {run: f"run-{i}" for i, (_, run) in enumerate(rows, start=1)}


def summarise_table(
    read: TableReader,
    table: str,
    replacements: Sequence[tuple[str, str]],
    ordinals: dict[str, str] | None,
    keep_runs: set[str] | None = None,
) -> dict[str, Any]:
    """The summary of one contract table (see the module docstring); a missing table is an empty one.

    ``ordinals`` None leaves the run id columns out altogether (the rows of killed runs carry their own ids).
    """
    from lab_etl.contracts import contract

    spec = contract(table)
    summary: dict[str, Any] = {"table": spec.qualified_name, "natural_key": list(spec.natural_key)}
    found = read(table)
    if found is None:
        return summary | {"exists": False, "columns": [], "rows": 0, "rows_sha256": _sha256([]), "by_key": {}}
    present, fetch = found
    wanted = STABLE_COLUMNS.get(table)
    columns = [
        c
        for c in present
        if c not in VOLATILE_COLUMNS and (wanted is None or c in wanted) and not (ordinals is None and c in RUN_COLUMNS)
    ]
    run_columns = [i for i, c in enumerate(columns) if c in RUN_COLUMNS]
    key_positions = [columns.index(c) for c in spec.natural_key if c in columns]

    version_column = columns.index("parser_version") if "parser_version" in columns else None
    rows: list[list[Any]] = []
    for row in fetch(columns):
        values = [canonical(v, replacements) for v in row]
        if version_column is not None and isinstance(values[version_column], str):
            values[version_column] = _without_lab_etl_version(values[version_column])
        for i in run_columns:
            if keep_runs is not None and values[i] not in keep_runs:
                break
            values[i] = (ordinals or {}).get(values[i], "run-unlisted")
        else:
            rows.append(values)
    lines = sorted(_json(values) for values in rows)
    summary |= {
        "exists": True,
        "columns": columns,
        "left_out": [c for c in present if c not in columns],
        "rows": len(rows),
        "rows_sha256": _sha256(lines),
    }
    row_digest = {id(values): hashlib.sha256(_json(values).encode()).hexdigest()[:16] for values in rows}
    if len(rows) <= KEYS_IN_FULL:
        by_key: dict[str, list[str]] = defaultdict(list)
        for values in rows:
            by_key[_key_text([values[i] for i in key_positions])].append(row_digest[id(values)])
        summary["by_key"] = {key: ",".join(sorted(digests)) for key, digests in sorted(by_key.items())}
    else:
        groups: dict[str, list[list[Any]]] = defaultdict(list)
        for values in rows:
            groups[_key_text([values[key_positions[0]]])].append(values)
        summary["group_by"] = columns[key_positions[0]]
        summary["by_group"] = {
            group: {
                "rows": len(members),
                "keys_sha256": _sha256(sorted(_key_text([v[i] for i in key_positions]) for v in members))[:16],
                "rows_sha256": _sha256(sorted(_json(v) for v in members))[:16],
            }
            for group, members in sorted(groups.items())
        }
    return summary


def summarise(
    source: SparkSession | TableReader,
    landing: Path,
    *,
    warehouse: Path | None = None,
    first_runs: int | None = None,
    run_ids: bool = True,
) -> dict[str, Any]:
    """The summary of every contract table after the pipeline ran on ``landing`` into ``warehouse``.

    ``source`` is the session the pipeline ran in (its catalog is read) or a :class:`TableReader`
    (:func:`folder_reader` for a warehouse another process wrote). ``first_runs`` keeps only the rows the first N
    runs wrote (a suite that reruns the demo landing on the shared warehouse adds a run to the log; the stored summary
    is of one run). ``run_ids`` False leaves run ids out instead of numbering them (a chain of killed runs).
    """
    from lab_etl.contracts import all_tables

    read = source if callable(source) else catalog_reader(source)
    ordinals = run_ordinals(read) if run_ids else None
    keep = (
        None if first_runs is None or ordinals is None else {r for r, n in ordinals.items() if int(n[4:]) <= first_runs}
    )
    replacements = path_replacements(landing, warehouse)
    return {
        "format": 1,
        "significant_digits": SIGNIFICANT_DIGITS,
        "run_ids": run_ids,
        "tables": {table: summarise_table(read, table, replacements, ordinals, keep) for table in all_tables()},
    }


# ------------------------------------------------------------------------------------------------ the comparison


def _diff_lines(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """What differs between two table summaries, in words; empty when the rows are the same."""
    if expected.get("rows") == actual.get("rows") and expected.get("rows_sha256") == actual.get("rows_sha256"):
        if expected.get("columns") == actual.get("columns"):
            return []
    name = expected.get("table") or actual.get("table")
    lines = [f"{name}: {expected.get('rows')} rows expected, {actual.get('rows')} now"]
    if expected.get("columns") != actual.get("columns"):
        gone = [c for c in expected.get("columns", []) if c not in actual.get("columns", [])]
        new = [c for c in actual.get("columns", []) if c not in expected.get("columns", [])]
        lines.append(f"  columns compared: missing {gone}, new {new}")
    if "by_key" in expected and "by_key" in actual:
        before, after = expected["by_key"], actual["by_key"]
        for label, keys in (
            ("missing", [k for k in before if k not in after]),
            ("new", [k for k in after if k not in before]),
            ("changed", [k for k in before if k in after and before[k] != after[k]]),
        ):
            if keys:
                shown = ", ".join(keys[:SHOWN]) + (f" ... ({len(keys)} in all)" if len(keys) > SHOWN else "")
                lines.append(f"  {label} key(s) ({'|'.join(expected['natural_key'])}): {shown}")
    elif "by_group" in expected and "by_group" in actual:
        before, after = expected["by_group"], actual["by_group"]
        differing = [g for g in sorted(set(before) | set(after)) if before.get(g) != after.get(g)]
        for group in differing[:SHOWN]:
            was, now = before.get(group, {}), after.get(group, {})
            what = "keys" if was.get("keys_sha256") != now.get("keys_sha256") else "values"
            lines.append(
                f"  {expected.get('group_by')}={group}: {was.get('rows', 0)} rows expected, {now.get('rows', 0)} "
                f"now ({what} differ)"
            )
        if len(differing) > SHOWN:
            lines.append(f"  ... {len(differing)} groups differ in all")
    if len(lines) == 1:
        lines.append("  same keys, different values (the key lists were not stored for one of the two sizes)")
    return lines


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Every difference between a stored summary and a new one, table by table; empty when they agree."""
    lines = []
    if expected.get("significant_digits") != actual.get("significant_digits"):
        lines.append(
            f"summaries round floats differently: {expected.get('significant_digits')} vs "
            f"{actual.get('significant_digits')} digits"
        )
    tables = sorted(set(expected["tables"]) | set(actual["tables"]))
    for table in tables:
        lines += _diff_lines(
            expected["tables"].get(table, {"table": table}), actual["tables"].get(table, {"table": table})
        )
    return lines


def assert_same(expected: dict[str, Any], actual: dict[str, Any], what: str) -> None:
    """Raise AssertionError with a readable diff when ``actual`` differs from the stored ``expected``."""
    lines = compare(expected, actual)
    if lines:
        raise AssertionError(
            f"{what}: the pipeline's rows differ from tests/data/expected (stored before the change):\n"
            + "\n".join(lines)
        )


def load_expected(name: str) -> dict[str, Any]:
    path = LANDINGS[name].expected_file
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def dump(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


# ------------------------------------------------------------------------------------------------ the command


def fresh_lakehouse(spark: SparkSession) -> None:
    """Drop and re-create the lakehouse databases (as the tests' ``lakehouse`` fixture does)."""
    from lab_etl.lakehouse.spark import DATABASES, ensure_databases

    for database in DATABASES:
        spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")
    ensure_databases(spark)


def run_and_summarise(spark: SparkSession, landing: Path, warehouse: Path, *, run_ids: bool = True) -> dict[str, Any]:
    """:func:`lab_etl.pipeline.run.run_pipeline` on ``landing`` in a fresh lakehouse, then :func:`summarise`."""
    from lab_etl.pipeline.run import run_pipeline

    fresh_lakehouse(spark)
    result = run_pipeline(spark, str(landing))
    if result.exit_code:
        raise AssertionError(f"the pipeline exited {result.exit_code} on {landing}: {result.notes}")
    return summarise(spark, landing, warehouse=warehouse, run_ids=run_ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="store the summaries in tests/data/expected/")
    mode.add_argument("--check", action="store_true", help="compare new runs with the stored summaries")
    parser.add_argument("--landing", choices=sorted(LANDINGS), action="append", help="default: all (repeatable)")
    args = parser.parse_args(argv)

    from lab_etl.lakehouse.spark import get_spark

    work = Path(tempfile.mkdtemp(prefix="lab_etl_expected_rows_"))
    spark = get_spark(work / "warehouse", master="local[2]", shuffle_partitions=2)
    failed = False
    try:
        for name in args.landing or sorted(LANDINGS):
            landing = LANDINGS[name]
            summary = run_and_summarise(spark, landing.materialise(work), work / "warehouse", run_ids=landing.run_ids)
            if args.write:
                landing.expected_file.parent.mkdir(parents=True, exist_ok=True)
                landing.expected_file.write_text(dump(summary), encoding="utf-8")
                print(f"{name}: wrote {landing.expected_file.relative_to(ROOT)}")
                continue
            lines = compare(load_expected(name), summary)
            failed |= bool(lines)
            print(f"{name}: " + ("same rows as stored" if not lines else "DIFFERS\n" + "\n".join(lines)))
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
