"""Table contracts: the one definition of every lakehouse table, read from ``schemas/*.yaml``.

From a contract come the Spark schema (:meth:`TableContract.spark_schema`), the Glue Data Catalog
``Columns`` with comments (:meth:`TableContract.glue_columns`) and the data-quality expectations
(:attr:`Column.expect`, turned into Great Expectations suites by :mod:`lab_etl.quality`).

Examples
--------
>>> readings = contract("instrument_readings")
>>> readings.qualified_name
'lab_bronze.instrument_readings'
>>> readings.column("well").comment[:9]
'Canonical'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab_etl.errors import ConfigError
from lab_etl.params import read_yaml

if TYPE_CHECKING:
    from pyspark.sql.types import DataType, StructType

#: Spark SQL / Hive type names a contract may use (Glue takes the same names).
TYPES = ("string", "int", "bigint", "double", "boolean", "timestamp", "date", "binary")

_EXPECT_KEYS = {"pattern", "allowed", "min", "max", "unique"}


@dataclass(frozen=True)
class Column:
    """One column: name, type, nullability, the comment shown in Glue/Athena, and expectations."""

    name: str
    type: str
    nullable: bool
    comment: str
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableContract:
    """One table's contract (see ``schemas/README.md`` for the file format)."""

    table: str
    database: str
    layer: str
    description: str
    natural_key: tuple[str, ...]
    partition_by: tuple[str, ...]
    columns: tuple[Column, ...]
    expectations: tuple[dict[str, Any], ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.table}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise ConfigError(f"table {self.qualified_name} has no column '{name}'")

    def spark_schema(self) -> StructType:
        """The Spark ``StructType`` with each column's comment as field metadata."""
        from pyspark.sql.types import StructField, StructType

        return StructType(
            [StructField(c.name, _spark_type(c.type), c.nullable, {"comment": c.comment}) for c in self.columns]
        )

    def ddl_columns(self) -> str:
        """``name type [NOT NULL] COMMENT '...'`` for CREATE TABLE."""
        parts = []
        for c in self.columns:
            not_null = "" if c.nullable else " NOT NULL"
            comment = c.comment.replace("'", "\\'")
            parts.append(f"`{c.name}` {c.type.upper()}{not_null} COMMENT '{comment}'")
        return ",\n  ".join(parts)

    def glue_columns(self) -> list[dict[str, str]]:
        """Glue Data Catalog ``StorageDescriptor.Columns``: the real columns with their comments."""
        return [
            {"Name": c.name, "Type": c.type, "Comment": c.comment[:255]}
            for c in self.columns
            if c.name not in self.partition_by
        ]

    def glue_partition_keys(self) -> list[dict[str, str]]:
        return [
            {"Name": c.name, "Type": c.type, "Comment": c.comment[:255]}
            for c in self.columns
            if c.name in self.partition_by
        ]


def schemas_dir() -> Path:
    """The folder holding the contracts (``schemas/`` of the repository, packaged with the wheel)."""
    return Path(str(files("lab_etl") / "resources" / "schemas"))


@cache
def _spark_type(type_text: str) -> DataType:
    """A column type as Spark's ``DataType``; parsed once per process (the parser asks the JVM, ~10 ms a call)."""
    from pyspark.sql.types import _parse_datatype_string

    return _parse_datatype_string(type_text)


@cache
def contract(table: str) -> TableContract:
    """The contract of ``table`` (its bare name, e.g. ``instrument_readings``)."""
    path = schemas_dir() / f"{table}.yaml"
    if not path.is_file():
        raise ConfigError(f"no table contract {path}; known: {', '.join(sorted(all_tables()))}")
    return load_contract(path)


def all_tables() -> list[str]:
    return sorted(p.stem for p in schemas_dir().glob("*.yaml") if not p.stem.startswith("_"))


def load_contract(path: Path) -> TableContract:
    """Read and validate one contract file; :class:`ConfigError` names the file and the problem."""
    _, raw = read_yaml(path, "table contract")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a table contract must be a mapping")
    for key in ("table", "database", "layer", "columns", "natural_key"):
        if key not in raw:
            raise ConfigError(f"{path}: missing '{key}'")
    columns = []
    for entry in raw["columns"]:
        name, kind = entry.get("name"), entry.get("type")
        if not name or kind not in TYPES:
            raise ConfigError(f"{path}: column {entry!r} needs a name and a type among {', '.join(TYPES)}")
        if "comment" not in entry:
            raise ConfigError(f"{path}: column '{name}' has no comment; Glue and Athena users need one")
        expect = entry.get("expect") or {}
        unknown = set(expect) - _EXPECT_KEYS
        if unknown:
            raise ConfigError(f"{path}: column '{name}' has unknown expectations {sorted(unknown)}")
        columns.append(Column(name, kind, bool(entry.get("nullable", True)), str(entry["comment"]), dict(expect)))
    names = {c.name for c in columns}
    for key_column in [*raw["natural_key"], *raw.get("partition_by", [])]:
        if key_column not in names:
            raise ConfigError(f"{path}: key or partition column '{key_column}' is not a column")
    return TableContract(
        table=raw["table"],
        database=raw["database"],
        layer=raw["layer"],
        description=" ".join(str(raw.get("description", "")).split()),
        natural_key=tuple(raw["natural_key"]),
        partition_by=tuple(raw.get("partition_by", [])),
        columns=tuple(columns),
        expectations=tuple(raw.get("expectations", [])),
    )
