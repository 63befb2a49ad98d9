"""Glue Data Catalog registration: each lakehouse Delta table as two Glue tables, created or updated in place.

- ``<database>.<table>``: a native Delta Lake table for Athena (``table_type=DELTA``, ``Location`` = the Delta
  table's root). Athena reads the Delta log itself; the Glue ``Columns`` carry the real schema with comments so
  analysts see what each column means and Lake Formation can grant or withhold single columns.
- ``<database>.<table>_spectrum``: the Redshift Spectrum twin over ``<root>/_symlink_format_manifest/`` (Spectrum
  reads Delta through the symlink manifests that ``GENERATE symlink_format_manifest`` writes), with one Glue
  partition per Delta partition, added and removed to match.

Publishing is idempotent: every table is compared with what the catalog holds and updated only when it differs,
so a second :func:`publish_tables` reports every table unchanged and makes no ``UpdateTable`` call.

Examples
--------
>>> from lab_etl.contracts import contract
>>> readings = contract("instrument_readings")
>>> columns = glue_columns(readings, [("plate_id", "string"), ("value", "double")])
>>> [(c.name, c.type) for c in columns]
[('plate_id', 'string'), ('value', 'double')]
>>> publish_tables(glue, [TableToPublish("lab_bronze", "instrument_readings", readings.description,
...                                      "s3://lake/bronze/instrument_readings", columns)])  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError

from lab_etl.aws import error_code, error_text
from lab_etl.contracts import TableContract
from lab_etl.errors import ConfigError, LabEtlError

log = logging.getLogger(__name__)

SYMLINK_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
HIVE_TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
MANIFEST_FOLDER = "_symlink_format_manifest"
SPECTRUM_SUFFIX = "_spectrum"

#: Glue limits: a column comment holds 255 characters, a table description 2048.
_COMMENT_MAX = 255
_DESCRIPTION_MAX = 2048
#: Glue batch limits: BatchCreatePartition takes 100 partitions, BatchDeletePartition 25.
_CREATE_BATCH = 100
_DELETE_BATCH = 25

#: Spark type names (``simpleString()`` or ``typeName()``) -> Hive/Glue type names.
_SIMPLE_TYPES = {
    "string": "string",
    "int": "int",
    "integer": "int",
    "bigint": "bigint",
    "long": "bigint",
    "smallint": "smallint",
    "short": "smallint",
    "tinyint": "tinyint",
    "byte": "tinyint",
    "double": "double",
    "float": "float",
    "boolean": "boolean",
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp",
    "timestamp_ltz": "timestamp",
    "date": "date",
    "binary": "binary",
}
#: Parameterised types -> how many element types go between their ``<`` and ``>``.
_TYPE_ARGUMENTS = {"array": 1, "map": 2}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SIZE = re.compile(r"\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")

#: Characters Hive (and Delta's manifest writer) percent-escape in a partition folder name ``key=value``.
_PATH_ESCAPES = frozenset("\"#%'*/:=?\\\x7f{[]^") | frozenset(chr(c) for c in range(1, 32))


@dataclass(frozen=True)
class GlueColumn:
    """One Glue column: its name, Hive/Glue type string and the comment analysts see (at most 255 chars)."""

    name: str
    type: str
    comment: str = ""

    def to_api(self) -> dict[str, str]:
        """The Glue API ``Column`` (the comment is left out when empty, as Glue itself returns it)."""
        column = {"Name": self.name, "Type": self.type}
        if self.comment:
            column["Comment"] = self.comment[:_COMMENT_MAX]
        return column


@dataclass
class TableToPublish:
    """One lakehouse Delta table to register in Glue.

    Parameters
    ----------
    database, table:
        Glue database and table name (the Spectrum twin is ``<table>_spectrum``).
    description:
        Table description shown in Athena and the Glue console.
    location:
        The Delta table's root (``s3://bucket/prefix/table``), the folder that holds ``_delta_log``.
    columns:
        The data columns, partition columns excluded.
    partition_keys:
        The partition columns, in the Delta table's partition order.
    partitions:
        One mapping ``{partition column: value}`` per Delta partition (values as they appear in the folder
        names, unescaped); the Spectrum twin gets one Glue partition for each.
    """

    database: str
    table: str
    description: str
    location: str
    columns: list[GlueColumn]
    partition_keys: list[GlueColumn] = field(default_factory=list)
    partitions: list[dict[str, str]] = field(default_factory=list)

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.table}"

    @property
    def spectrum_table(self) -> str:
        return f"{self.table}{SPECTRUM_SUFFIX}"

    @property
    def manifest_location(self) -> str:
        """``<root>/_symlink_format_manifest/``, where Delta writes the symlink manifests."""
        return f"{self.location.rstrip('/')}/{MANIFEST_FOLDER}/"


Action = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class TableOutcome:
    """What publishing did to one Glue table; ``changed`` names the fields an update changed."""

    name: str
    action: Action
    changed: tuple[str, ...] = ()


@dataclass
class PublishReport:
    """The result of :func:`publish_tables`: databases created, each Glue table's outcome, partitions synced."""

    databases_created: list[str] = field(default_factory=list)
    tables: list[TableOutcome] = field(default_factory=list)
    partitions_added: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    partitions_removed: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    def _names(self, action: Action) -> list[str]:
        return [t.name for t in self.tables if t.action == action]

    @property
    def created(self) -> list[str]:
        return self._names("created")

    @property
    def updated(self) -> list[str]:
        return self._names("updated")

    @property
    def unchanged(self) -> list[str]:
        return self._names("unchanged")

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.databases_created
            or self.created
            or self.updated
            or any(self.partitions_added.values())
            or any(self.partitions_removed.values())
        )


def glue_type(spark_type: str | Any) -> str:
    """The Hive/Glue type string of a Spark type (a ``DataType`` or its ``simpleString()``).

    Nested types are mapped recursively: ``array<long>`` -> ``array<bigint>``, ``struct<a:integer>`` ->
    ``struct<a:int>``. Raises :class:`ConfigError` for types Glue cannot hold (``void``, intervals).

    Examples
    --------
    >>> glue_type("decimal(10,2)"), glue_type("array<struct<well:string,od:double>>")
    ('decimal(10,2)', 'array<struct<well:string,od:double>>')
    """
    text = spark_type if isinstance(spark_type, str) else spark_type.simpleString()
    return _TypeParser(text).parse()


class _TypeParser:
    """A small recursive-descent reader of Spark type strings."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> str:
        result = self._type()
        self._skip_space()
        if self.pos != len(self.text):
            raise self._error("unexpected text")
        return result

    def _error(self, what: str) -> ConfigError:
        return ConfigError(
            f"Spark type '{self.text}': {what} at character {self.pos + 1}; "
            "expected a Spark SQL type such as string, bigint, decimal(10,2), array<string>, struct<a:int>"
        )

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _word(self) -> str:
        self._skip_space()
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self._error("expected a name")
        self.pos = match.end()
        return match.group(0)

    def _expect(self, char: str) -> None:
        self._skip_space()
        if not self.text.startswith(char, self.pos):
            raise self._error(f"expected '{char}'")
        self.pos += 1

    def _peek(self, char: str) -> bool:
        self._skip_space()
        return self.text.startswith(char, self.pos)

    def _type(self) -> str:
        name = self._word().lower()
        if name in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[name]
        if name in {"decimal", "char", "varchar"}:
            match = _SIZE.match(self.text, self.pos)
            if match is None:
                if name == "decimal" and not self._peek("("):
                    return "decimal(10,0)"  # Spark's default precision and scale
                raise self._error(f"{name} needs its size in parentheses, e.g. {name}(10)")
            self.pos = match.end()
            return f"{name}({','.join(size for size in match.groups() if size is not None)})"
        if name in _TYPE_ARGUMENTS:
            return f"{name}<{','.join(self._type_arguments(_TYPE_ARGUMENTS[name]))}>"
        if name == "struct":
            self._expect("<")
            fields = []
            while not self._peek(">"):
                field_name = self._field_name()
                self._expect(":")
                fields.append(f"{field_name}:{self._type()}")
                if not self._peek(">"):
                    self._expect(",")
            self._expect(">")
            return f"struct<{','.join(fields)}>"
        raise self._error(f"type '{name}' has no Glue/Hive equivalent")

    def _type_arguments(self, count: int) -> list[str]:
        """The ``count`` comma-separated element types of ``<...>`` (``array<int>``: 1, ``map<string,int>``: 2)."""
        self._expect("<")
        types = [self._type()]
        for _ in range(count - 1):
            self._expect(",")
            types.append(self._type())
        self._expect(">")
        return types

    def _field_name(self) -> str:
        self._skip_space()
        if self._peek("`"):
            end = self.text.index("`", self.pos + 1)
            name = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return name
        return self._word()


def glue_columns(contract: TableContract, actual: Sequence[tuple[str, str | Any]]) -> list[GlueColumn]:
    """The Glue columns of a Delta table: its actual schema, commented from its contract.

    ``actual`` is the Delta table's schema as it is now (``[(f.name, f.dataType) for f in df.schema]`` or
    ``df.dtypes``), so columns added by schema evolution appear; the comment of each comes from the contract
    (``schemas/<table>.yaml``). A column the contract does not know is published without a comment and logged
    as a warning naming the contract to extend.

    Examples
    --------
    >>> from lab_etl.contracts import contract
    >>> columns = glue_columns(contract("eln_experiments"), [("experiment_id", "string"), ("author", "string")])
    >>> columns[1].comment.startswith("Person who ran")
    True
    """
    comments = {c.name: c.comment for c in contract.columns}
    columns = []
    for name, spark_type in actual:
        comment = comments.get(name, "")
        if name not in comments:
            log.warning(
                "column %s.%s is in the Delta table but not in schemas/%s.yaml; published without a comment "
                "(add it to the contract)",
                contract.qualified_name,
                name,
                contract.table,
            )
        columns.append(GlueColumn(name, glue_type(spark_type), comment))
    return columns


def table_to_publish(
    contract: TableContract,
    location: str,
    actual: Sequence[tuple[str, str | Any]],
    partitions: Sequence[Mapping[str, str]] = (),
) -> TableToPublish:
    """The :class:`TableToPublish` of a contract's Delta table at ``location`` with schema ``actual``.

    Partition columns are those of the contract's ``partition_by``, split from the data columns.

    Examples
    --------
    >>> from lab_etl.contracts import contract
    >>> table = table_to_publish(contract("ingest_runs"), "s3://lake/bronze/ingest_runs", [("run_id", "string")])
    >>> table.manifest_location
    's3://lake/bronze/ingest_runs/_symlink_format_manifest/'
    """
    columns = glue_columns(contract, actual)
    by_name = {c.name: c for c in columns}
    missing = [key for key in contract.partition_by if key not in by_name]
    if missing:
        raise ConfigError(
            f"table {contract.qualified_name}: partition column(s) {missing} of schemas/{contract.table}.yaml "
            "are not in the Delta table's schema; rewrite the table with its contract's partitioning"
        )
    return TableToPublish(
        database=contract.database,
        table=contract.table,
        description=contract.description,
        location=location,
        columns=[c for c in columns if c.name not in contract.partition_by],
        partition_keys=[by_name[key] for key in contract.partition_by],
        partitions=[dict(p) for p in partitions],
    )


def delta_table_input(table: TableToPublish) -> dict[str, Any]:
    """The Glue ``TableInput`` of the native Delta table Athena queries."""
    return {
        "Name": table.table,
        "Description": table.description[:_DESCRIPTION_MAX],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "table_type": "DELTA",
            "classification": "delta",
            "EXTERNAL": "TRUE",
            # Spark on Glue then reads the table through Delta as well, not as plain Parquet.
            "spark.sql.sources.provider": "delta",
        },
        "StorageDescriptor": {
            "Columns": [c.to_api() for c in table.columns],
            "Location": table.location,
            "InputFormat": PARQUET_INPUT_FORMAT,
            "OutputFormat": PARQUET_OUTPUT_FORMAT,
            "SerdeInfo": {
                "SerializationLibrary": PARQUET_SERDE,
                "Parameters": {"serialization.format": "1", "path": table.location},
            },
        },
        "PartitionKeys": [c.to_api() for c in table.partition_keys],
    }


def _spectrum_storage(table: TableToPublish, location: str) -> dict[str, Any]:
    return {
        "Columns": [c.to_api() for c in table.columns],
        "Location": location,
        "InputFormat": SYMLINK_INPUT_FORMAT,
        "OutputFormat": HIVE_TEXT_OUTPUT_FORMAT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
    }


def spectrum_table_input(table: TableToPublish) -> dict[str, Any]:
    """The Glue ``TableInput`` of the Redshift Spectrum twin over the symlink manifests."""
    note = f" Redshift Spectrum view of {table.qualified_name} through its symlink manifests."
    return {
        "Name": table.spectrum_table,
        "Description": (table.description[: _DESCRIPTION_MAX - len(note)] + note).strip(),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", "classification": "parquet", "delta.table": table.qualified_name},
        "StorageDescriptor": _spectrum_storage(table, table.manifest_location),
        "PartitionKeys": [c.to_api() for c in table.partition_keys],
    }


def escape_partition_value(value: str) -> str:
    """A partition value as it appears in a folder name ``key=value`` (Hive's percent-escaping).

    Examples
    --------
    >>> escape_partition_value("2024-01-02 10:00")
    '2024-01-02 10%3A00'
    """
    return "".join(f"%{ord(ch):02X}" if ch in _PATH_ESCAPES else ch for ch in value)


def partition_values(table: TableToPublish, partition: Mapping[str, str]) -> tuple[str, ...]:
    """The values of one partition in partition-key order; :class:`ConfigError` when keys do not match."""
    keys = [c.name for c in table.partition_keys]
    if set(partition) != set(keys):
        raise ConfigError(
            f"table {table.qualified_name}: partition {dict(partition)} must give exactly the partition columns {keys}"
        )
    return tuple(str(partition[key]) for key in keys)


def partition_location(table: TableToPublish, values: Sequence[str]) -> str:
    """``<root>/_symlink_format_manifest/<k1>=<v1>/<k2>=<v2>``: where Delta writes that partition's manifest."""
    parts = "/".join(
        f"{escape_partition_value(key.name)}={escape_partition_value(value)}"
        for key, value in zip(table.partition_keys, values, strict=True)
    )
    return f"{table.manifest_location}{parts}"


def publish_tables(glue: Any, tables: Sequence[TableToPublish]) -> PublishReport:
    """Create or update each table's Delta table and Spectrum twin in the Glue Data Catalog.

    Databases are created when missing. A table already in the catalog is compared field by field with what
    it should be and updated only when something differs; parameters other tools added to it are kept.
    The Spectrum twin's partitions are made to match ``table.partitions``: missing ones added, others removed.

    Parameters
    ----------
    glue:
        A boto3 Glue client (:func:`lab_etl.aws.aws_client` ``("glue")``).
    tables:
        The tables to publish.

    Returns
    -------
    PublishReport
        Databases created, each Glue table created / updated / unchanged, partitions added and removed.

    Raises
    ------
    LabEtlError
        When Glue refuses a call; the message names the table and the AWS error.

    Examples
    --------
    >>> report = publish_tables(glue, [table])  # doctest: +SKIP
    >>> report.unchanged                        # doctest: +SKIP
    ['lab_bronze.ingest_runs', 'lab_bronze.ingest_runs_spectrum']
    """
    report = PublishReport()
    for table in tables:
        _wanted_values(table)  # a partition with the wrong keys stops the publish before anything is written
    for database in dict.fromkeys(t.database for t in tables):
        if _ensure_database(glue, database):
            report.databases_created.append(database)
    for table in tables:
        report.tables.append(_upsert_table(glue, table.database, delta_table_input(table)))
        report.tables.append(_upsert_table(glue, table.database, spectrum_table_input(table)))
        added, removed = _sync_partitions(glue, table)
        name = f"{table.database}.{table.spectrum_table}"
        report.partitions_added[name] = added
        report.partitions_removed[name] = removed
    for outcome in report.tables:
        log.info("glue table %s: %s %s", outcome.name, outcome.action, ", ".join(outcome.changed))
    return report


def _glue_error(what: str, exc: ClientError) -> LabEtlError:
    return LabEtlError(
        f"Glue refused to {what}: {error_text(exc)}; check the caller's Glue and Lake Formation permissions on it"
    )


def _ensure_database(glue: Any, database: str) -> bool:
    try:
        glue.get_database(Name=database)
        return False
    except ClientError as exc:
        if error_code(exc) != "EntityNotFoundException":
            raise _glue_error(f"read database {database}", exc) from exc
    try:
        glue.create_database(DatabaseInput={"Name": database, "Description": f"lab_etl lakehouse: {database}"})
    except ClientError as exc:
        if error_code(exc) != "AlreadyExistsException":  # created meanwhile by a concurrent publish
            raise _glue_error(f"create database {database}", exc) from exc
    log.info("created Glue database %s", database)
    return True


def _differences(existing: Mapping[str, Any], wanted: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The fields of ``wanted`` whose value ``existing`` does not hold (extra fields of ``existing`` are fine).

    Glue returns more than a ``TableInput`` holds (CreateTime, NumberOfBuckets ...) and other tools add table
    parameters, so only what lab_etl sets is compared.
    """
    changed = []
    for key, value in wanted.items():
        have = existing.get(key)
        if isinstance(value, Mapping) and isinstance(have, Mapping) and key != "Parameters":
            changed += _differences(have, value, f"{prefix}{key}.")
        elif key == "Parameters" and isinstance(value, Mapping):
            have = have or {}
            changed += [f"{prefix}Parameters.{k}" for k, v in value.items() if have.get(k) != v]
        elif have != value and not (value in ([], "") and have is None):
            changed.append(f"{prefix}{key}")
    return changed


def _upsert_table(glue: Any, database: str, table_input: dict[str, Any]) -> TableOutcome:
    name = f"{database}.{table_input['Name']}"
    try:
        existing = glue.get_table(DatabaseName=database, Name=table_input["Name"])["Table"]
    except ClientError as exc:
        if error_code(exc) != "EntityNotFoundException":
            raise _glue_error(f"read table {name}", exc) from exc
        try:
            glue.create_table(DatabaseName=database, TableInput=table_input)
        except ClientError as create_exc:
            raise _glue_error(f"create table {name}", create_exc) from create_exc
        return TableOutcome(name, "created")
    changed = _differences(existing, table_input)
    if not changed:
        return TableOutcome(name, "unchanged")
    update = dict(table_input)
    update["Parameters"] = {**(existing.get("Parameters") or {}), **table_input["Parameters"]}
    try:
        glue.update_table(DatabaseName=database, TableInput=update)
    except ClientError as exc:
        raise _glue_error(f"update table {name}", exc) from exc
    return TableOutcome(name, "updated", tuple(changed))


def _existing_partitions(glue: Any, database: str, table: str) -> Iterator[dict[str, Any]]:
    paginator = glue.get_paginator("get_partitions")
    for page in paginator.paginate(DatabaseName=database, TableName=table):
        yield from page.get("Partitions", [])


def _sync_partitions(glue: Any, table: TableToPublish) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    spectrum = table.spectrum_table
    name = f"{table.database}.{spectrum}"
    wanted = {values: partition_location(table, values) for values in _wanted_values(table)}
    try:
        have = {
            tuple(p["Values"]): p.get("StorageDescriptor", {}).get("Location")
            for p in _existing_partitions(glue, table.database, spectrum)
        }
    except ClientError as exc:
        raise _glue_error(f"list the partitions of {name}", exc) from exc
    # A partition whose folder moved is dropped and added again at its new location.
    remove = sorted(v for v in have if wanted.get(v) != have[v])
    add = sorted(v for v in wanted if have.get(v) != wanted[v])
    _in_batches(
        f"remove partitions of {name}",
        [{"Values": list(v)} for v in remove],
        _DELETE_BATCH,
        lambda batch: glue.batch_delete_partition(
            DatabaseName=table.database, TableName=spectrum, PartitionsToDelete=batch
        ),
    )
    _in_batches(
        f"add partitions to {name}",
        [{"Values": list(v), "StorageDescriptor": _spectrum_storage(table, wanted[v])} for v in add],
        _CREATE_BATCH,
        lambda batch: glue.batch_create_partition(
            DatabaseName=table.database, TableName=spectrum, PartitionInputList=batch
        ),
    )
    return add, remove


def _wanted_values(table: TableToPublish) -> list[tuple[str, ...]]:
    return [partition_values(table, p) for p in table.partitions]


def _in_batches(
    what: str, items: list[dict[str, Any]], size: int, call: Callable[[list[dict[str, Any]]], dict[str, Any]]
) -> None:
    """Send ``items`` to a Glue batch call ``size`` at a time; a refused call or a failed item is an error."""
    for start in range(0, len(items), size):
        try:
            response = call(items[start : start + size])
        except ClientError as exc:
            raise _glue_error(what, exc) from exc
        _raise_batch_errors(what, response.get("Errors", []))


def _raise_batch_errors(what: str, errors: list[dict[str, Any]]) -> None:
    if errors:
        first = errors[0]
        detail = first.get("ErrorDetail", {})
        raise LabEtlError(
            f"Glue could not {what}: partition {first.get('PartitionValues')}: {detail.get('ErrorCode')}: "
            f"{detail.get('ErrorMessage')} ({len(errors)} partition(s) failed); publish again once fixed"
        )
