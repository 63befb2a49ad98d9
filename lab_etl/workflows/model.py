"""Workflow definitions: load ``workflows/*.yaml``, validate them, resolve parameters, order the DAG.

A definition keeps AWS Glue Blueprints' split: ``parameters`` declares every knob (type, description,
default), then ``trigger``, ``jobs``, ``crawlers`` and ``run_properties`` use them as ``${name}``. Two
built-ins are always available: ``${workflow_name}`` and ``${workflow_slug}`` (the name with ``_`` as ``-``,
for S3 bucket and IAM role names, which may not contain ``_``). Parameter defaults may use only the built-ins,
which is what makes cloning safe: a clone with a new name gets new bucket, role and rule names.

Examples
--------
>>> workflow = load_workflow("hts_lcms_yield", overrides={"batch_size": "10"})
>>> workflow.trigger.batch_size
10
>>> [job.name for job in workflow.topological_jobs()][:2]
['ingest_instruments', 'load_eln']
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from lab_etl.errors import ConfigError
from lab_etl.params import ParameterValue, as_text, check_declared, read_yaml, references, substitute

#: Parameters the renderer and the deployer read; every definition must declare them.
REQUIRED_PARAMETERS = (
    "artifacts_bucket",
    "warehouse_bucket",
    "databases",
    "tags",
    "glue_worker_type",
    "number_of_workers",
    "kms_key_alias",
)
#: Parameters a definition may declare to change how concurrent writers of the shared warehouse are kept apart
#: (see :mod:`lab_etl.lakehouse.locks`), with the value used when it does not.
CONCURRENCY_PARAMETERS: dict[str, str | bool] = {
    "lock_table": "lab_etl_delta_locks",
    "create_lock_table": True,
    "delta_logstore_jar": "",
    "delta_logstore_table": "lab_etl_delta_log",
}
#: Glue 5.0 worker types for Spark (glueetl) jobs.
WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X", "G.12X", "G.16X", "R.1X", "R.2X", "R.4X", "R.8X")
BUILTINS = ("workflow_name", "workflow_slug")

_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_DATABASE = re.compile(r"^[a-z][a-z0-9_]{0,254}$")
_DYNAMODB_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_KMS_ALIAS = re.compile(r"^alias/(?!aws/)[a-zA-Z0-9/_-]{1,250}$")
_TAG_KEY = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: its type (``string``, ``integer`` or ``boolean``), what it means, its default."""

    name: str
    type: str
    description: str
    default: ParameterValue

    def coerce(self, text: str, where: str) -> ParameterValue:
        """Turn a ``--set name=text`` value into this parameter's type; :class:`ConfigError` when it cannot."""
        if self.type == "integer":
            try:
                return int(text)
            except ValueError:
                raise ConfigError(f"{where}: parameter '{self.name}' is an integer, got '{text}'") from None
        if self.type == "boolean":
            lowered = text.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ConfigError(f"{where}: parameter '{self.name}' is a boolean (true/false), got '{text}'")
        return text


@dataclass(frozen=True)
class Job:
    """One Glue job of the DAG, with its arguments already substituted (all strings, as Glue wants them)."""

    name: str
    script: str
    description: str
    arguments: dict[str, str]
    depends_on: tuple[str, ...] = ()
    timeout_minutes: int = 120
    max_retries: int = 0


@dataclass(frozen=True)
class Crawler:
    """An optional Glue crawler registering Delta tables (a DeltaTarget) in one database."""

    name: str
    description: str
    database: str
    delta_tables: tuple[str, ...]
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventTrigger:
    """The EVENT start trigger: S3 ``Object Created`` under ``s3://bucket/prefix``, batched by EventBridge."""

    bucket: str
    prefix: str
    batch_size: int
    batch_window_s: int


@dataclass(frozen=True)
class WorkflowDefinition:
    """A validated but unresolved definition: the raw document plus its declared parameters."""

    name: str
    description: str
    parameters: dict[str, Parameter]
    document: dict[str, Any]
    source: str

    def resolve(self, overrides: Mapping[str, str] | None = None) -> Workflow:
        """Apply ``overrides`` (typed by the declared type) over the defaults and substitute every ``${name}``.

        Raises
        ------
        ConfigError
            An override names an undeclared parameter or has the wrong type, a ``${name}`` is undeclared,
            or a resolved value is invalid for AWS (bucket name, batch size, worker type, ...).
        """
        values = self._values(overrides or {})
        doc = self.document
        src = self.source
        trigger_doc = doc["trigger"]
        trigger = EventTrigger(
            bucket=str(substitute(trigger_doc["bucket"], values, f"{src}: trigger.bucket")),
            prefix=str(substitute(trigger_doc["prefix"], values, f"{src}: trigger.prefix")),
            batch_size=_as_int(substitute(trigger_doc["batch_size"], values, f"{src}: trigger.batch_size"), src),
            batch_window_s=_as_int(
                substitute(trigger_doc["batch_window_s"], values, f"{src}: trigger.batch_window_s"), src
            ),
        )
        jobs = tuple(
            Job(
                name=job["name"],
                script=job["script"],
                description=job.get("description", ""),
                arguments={
                    key: as_text(substitute(value, values, f"{src}: jobs[{i}].arguments.{key}"))
                    for key, value in job.get("arguments", {}).items()
                },
                depends_on=tuple(job.get("depends_on", ())),
                timeout_minutes=job.get("timeout_minutes", 120),
                max_retries=job.get("max_retries", 0),
            )
            for i, job in enumerate(doc["jobs"])
        )
        crawlers = tuple(
            Crawler(
                name=crawler["name"],
                description=crawler.get("description", ""),
                database=str(substitute(crawler["database"], values, f"{src}: crawlers[{i}].database")),
                delta_tables=tuple(
                    str(substitute(path, values, f"{src}: crawlers[{i}].delta_tables[{k}]"))
                    for k, path in enumerate(crawler["delta_tables"])
                ),
                depends_on=tuple(crawler.get("depends_on", ())),
            )
            for i, crawler in enumerate(doc.get("crawlers", []))
        )
        run_properties = {
            key: as_text(substitute(value, values, f"{src}: run_properties.{key}"))
            for key, value in doc.get("run_properties", {}).items()
        }
        workflow = Workflow(
            name=self.name,
            description=self.description,
            values=values,
            trigger=trigger,
            jobs=jobs,
            crawlers=crawlers,
            run_properties=run_properties,
            source=src,
        )
        workflow.check()
        return workflow

    def _values(self, overrides: Mapping[str, str]) -> dict[str, ParameterValue]:
        builtins: dict[str, ParameterValue] = {"workflow_name": self.name, "workflow_slug": slug(self.name)}
        values: dict[str, ParameterValue] = {}
        for name, parameter in self.parameters.items():
            default = parameter.default
            if isinstance(default, str):
                default = substitute(default, builtins, f"{self.source}: parameters.{name}.default")
            values[name] = default
        check_declared(overrides, self.parameters, self.source, "--set")
        for name, text in overrides.items():
            values[name] = self.parameters[name].coerce(text, f"{self.source}: --set {name}")
        return {**builtins, **values}


class _ParameterAttribute(Generic[_T]):
    """A read-only :class:`Workflow` attribute: one parameter's resolved value, cast to the attribute's type.

    A parameter of :data:`CONCURRENCY_PARAMETERS` a definition does not declare reads as its default there; any
    other must be declared (:data:`REQUIRED_PARAMETERS`), so a missing one is a :class:`KeyError`.

    Examples
    --------
    >>> workflow = load_workflow("hts_lcms_yield")
    >>> workflow.number_of_workers >= 2, workflow.lock_table
    (True, 'lab_etl_delta_locks')
    """

    def __init__(self, parameter: str, cast: Callable[[ParameterValue], _T], doc: str | None = None) -> None:
        self.parameter = parameter
        self.cast = cast
        self.__doc__ = doc

    @overload
    def __get__(self, workflow: None, owner: type | None = None) -> _ParameterAttribute[_T]: ...

    @overload
    def __get__(self, workflow: Workflow, owner: type | None = None) -> _T: ...

    def __get__(self, workflow: Workflow | None, owner: type | None = None) -> _T | _ParameterAttribute[_T]:
        if workflow is None:
            return self
        if self.parameter in CONCURRENCY_PARAMETERS:
            return self.cast(workflow.values.get(self.parameter, CONCURRENCY_PARAMETERS[self.parameter]))
        return self.cast(workflow.values[self.parameter])


@dataclass(frozen=True)
class Workflow:
    """A resolved workflow: every parameter has its value and every ``${name}`` is substituted."""

    name: str
    description: str
    values: dict[str, ParameterValue]
    trigger: EventTrigger
    jobs: tuple[Job, ...]
    crawlers: tuple[Crawler, ...] = ()
    run_properties: dict[str, str] = field(default_factory=dict)
    source: str = "<workflow>"

    @property
    def slug(self) -> str:
        """The name with ``_`` as ``-``: the stem of bucket, role and rule names."""
        return slug(self.name)

    artifacts_bucket = _ParameterAttribute("artifacts_bucket", str)
    warehouse_bucket = _ParameterAttribute("warehouse_bucket", str)
    kms_key_alias = _ParameterAttribute("kms_key_alias", str)
    worker_type = _ParameterAttribute("glue_worker_type", str)
    number_of_workers = _ParameterAttribute("number_of_workers", int)
    lock_table = _ParameterAttribute(
        "lock_table",
        str,
        "The DynamoDB table of lab_etl's per-table write leases: one per warehouse, shared by its workflows.",
    )
    create_lock_table = _ParameterAttribute(
        "create_lock_table",
        bool,
        "Whether this workflow's stack creates the lock (or log store) table; exactly one stack per warehouse.",
    )
    delta_logstore_jar = _ParameterAttribute(
        "delta_logstore_jar",
        lambda value: str(value).strip(),
        """``s3://<artifacts>/…/delta-storage-s3-dynamodb-<version>.jar``, or ``""``: Delta's own multi-writer log
        store is then used instead of lab_etl's lease lock.""",
    )
    delta_logstore_table = _ParameterAttribute(
        "delta_logstore_table",
        str,
        "The DynamoDB table of Delta's ``S3DynamoDBLogStore`` (used only with :attr:`delta_logstore_jar`).",
    )

    @property
    def databases(self) -> tuple[str, ...]:
        """The Glue databases the jobs may read and write (parameter ``databases``, comma-separated)."""
        return tuple(part.strip() for part in str(self.values["databases"]).split(",") if part.strip())

    @property
    def tags(self) -> dict[str, str]:
        """Resource tags from parameter ``tags`` (``key=value,key=value``) plus ``lab_etl:workflow``."""
        tags = {"lab_etl:workflow": self.name}
        for item in str(self.values["tags"]).split(","):
            if item.strip():
                key, _, value = item.partition("=")
                tags[key.strip()] = value.strip()
        return tags

    def node_names(self) -> list[str]:
        return [job.name for job in self.jobs] + [crawler.name for crawler in self.crawlers]

    def topological_order(self) -> list[Job | Crawler]:
        """Jobs and crawlers in dependency order (stable: definition order among ready nodes).

        Raises
        ------
        ConfigError
            A node depends on an unknown job or crawler, or the dependencies form a cycle (named in order).
        """
        nodes: dict[str, Job | Crawler] = {}
        every: list[Job | Crawler] = [*self.jobs, *self.crawlers]
        for node in every:
            if node.name in nodes:
                raise ConfigError(f"{self.source}: '{node.name}' is defined twice; job and crawler names must differ")
            nodes[node.name] = node
        for node in nodes.values():
            for dependency in node.depends_on:
                if dependency not in nodes:
                    raise ConfigError(
                        f"{self.source}: '{node.name}' depends_on '{dependency}', which is not a job or crawler of "
                        f"this workflow; known: {', '.join(nodes)}"
                    )
        ordered: list[Job | Crawler] = []
        done: set[str] = set()
        pending = list(nodes)
        while pending:
            ready = [name for name in pending if set(nodes[name].depends_on) <= done]
            if not ready:
                raise ConfigError(
                    f"{self.source}: dependency cycle: {_describe_cycle(nodes, pending)}; remove one depends_on"
                )
            for name in ready:
                ordered.append(nodes[name])
                done.add(name)
            pending = [name for name in pending if name not in done]
        return ordered

    def topological_jobs(self) -> list[Job]:
        """The jobs in dependency order (see :meth:`topological_order`)."""
        return [node for node in self.topological_order() if isinstance(node, Job)]

    def start_nodes(self) -> list[Job | Crawler]:
        """The nodes with no dependency: what the EVENT trigger starts."""
        return [node for node in self.topological_order() if not node.depends_on]

    def glue_name(self, node: str) -> str:
        """The Glue name of a job or crawler: ``<workflow>-<node>``."""
        return f"{self.name}-{node}"

    def check(self) -> None:
        """Validate resolved values against AWS's rules; :class:`ConfigError` names the parameter and the fix."""
        src = self.source
        for parameter in REQUIRED_PARAMETERS:
            if parameter not in self.values:
                raise ConfigError(f"{src}: parameters: '{parameter}' must be declared (the renderer uses it)")
        for label, bucket in (
            ("trigger.bucket", self.trigger.bucket),
            ("artifacts_bucket", self.artifacts_bucket),
            ("warehouse_bucket", self.warehouse_bucket),
        ):
            if not _BUCKET.match(bucket):
                raise ConfigError(
                    f"{src}: {label} = '{bucket}' is not a valid S3 bucket name "
                    "(3-63 characters: lower case letters, digits, '-' and '.')"
                )
        if self.trigger.bucket == self.artifacts_bucket:
            raise ConfigError(f"{src}: the landing bucket and artifacts_bucket must differ ('{self.artifacts_bucket}')")
        if self.trigger.prefix.startswith("/"):
            raise ConfigError(f"{src}: trigger.prefix '{self.trigger.prefix}' must not start with '/'")
        if not 1 <= self.trigger.batch_size <= 100:
            raise ConfigError(f"{src}: trigger.batch_size = {self.trigger.batch_size}; Glue accepts 1 to 100 events")
        if not 1 <= self.trigger.batch_window_s <= 900:
            raise ConfigError(
                f"{src}: trigger.batch_window_s = {self.trigger.batch_window_s}; Glue accepts 1 to 900 seconds"
            )
        if self.worker_type not in WORKER_TYPES:
            raise ConfigError(f"{src}: glue_worker_type '{self.worker_type}' is not one of {', '.join(WORKER_TYPES)}")
        if self.number_of_workers < 2:
            raise ConfigError(f"{src}: number_of_workers = {self.number_of_workers}; Glue Spark jobs need at least 2")
        if not _KMS_ALIAS.match(self.kms_key_alias):
            raise ConfigError(
                f"{src}: kms_key_alias '{self.kms_key_alias}' must look like alias/<name> (not alias/aws/)"
            )
        if not self.databases:
            raise ConfigError(f"{src}: databases is empty; list the Glue databases the jobs write, comma-separated")
        for database in self.databases:
            if not _DATABASE.match(database):
                raise ConfigError(f"{src}: databases: '{database}' is not a valid Glue database name")
        for item in str(self.values["tags"]).split(","):
            if item.strip() and ("=" not in item or not _TAG_KEY.match(item.partition("=")[0].strip())):
                raise ConfigError(f"{src}: tags: '{item.strip()}' is not key=value (write tags as k=v,k=v)")
        for label, table in (("lock_table", self.lock_table), ("delta_logstore_table", self.delta_logstore_table)):
            if not _DYNAMODB_TABLE.match(table):
                raise ConfigError(
                    f"{src}: {label} '{table}' is not a valid DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)"
                )
        jar = self.delta_logstore_jar
        if jar and not (jar.startswith(f"s3://{self.artifacts_bucket}/") and jar.endswith(".jar")):
            raise ConfigError(
                f"{src}: delta_logstore_jar '{jar}' must be a .jar in the artifacts bucket "
                f"(s3://{self.artifacts_bucket}/jars/delta-storage-s3-dynamodb-3.3.0.jar), which the job role may read"
            )
        for crawler in self.crawlers:
            if crawler.database not in self.databases:
                raise ConfigError(
                    f"{src}: crawler '{crawler.name}' writes database '{crawler.database}', which is not in "
                    f"databases ({', '.join(self.databases)}); add it there"
                )
        for job in self.jobs:
            reserved = sorted(set(job.arguments) & RESERVED_ARGUMENTS)
            if reserved:
                raise ConfigError(
                    f"{src}: job '{job.name}' sets {', '.join(reserved)}, which lab_etl sets itself; remove it"
                )
        self.topological_order()


#: DefaultArguments the renderer owns (Delta and its log store jar, catalog, wheel, logging); definitions may
#: not set them.
RESERVED_ARGUMENTS = frozenset(
    {
        "--datalake-formats",
        "--conf",
        "--extra-jars",
        "--additional-python-modules",
        "--enable-glue-datacatalog",
        "--job-language",
        "--TempDir",
        "--JOB_NAME",
    }
)


def slug(name: str) -> str:
    """The workflow name with ``_`` as ``-``: S3 bucket names may not hold ``_``.

    Examples
    --------
    >>> slug("hts_lcms_yield")
    'hts-lcms-yield'
    """
    return name.replace("_", "-")


@cache
def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of definitions (``schemas/workflow.schema.json``, shipped in the wheel)."""
    text = files("lab_etl").joinpath("resources/schemas/workflow.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_document(document: object, source: str) -> dict[str, Any]:
    """Validate a parsed YAML document against the schema; the first errors are reported by field path.

    Raises
    ------
    ConfigError
        ``<source>: <field path>: <what is wrong>`` for up to five violations.
    """
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(workflow_schema())
    errors = sorted(validator.iter_errors(document), key=lambda error: [str(p) for p in error.absolute_path])
    if errors:
        lines = [f"{_field_path(error.absolute_path)}: {error.message}" for error in errors[:5]]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ConfigError(f"{source}: invalid workflow definition{more}:\n  " + "\n  ".join(lines))
    assert isinstance(document, dict)
    return document


def parse_definition(document: object, source: str = "<workflow>") -> WorkflowDefinition:
    """Validate a parsed document and check every ``${name}`` is declared; see :func:`load_definition`."""
    doc = validate_document(document, source)
    parameters = {
        name: Parameter(name=name, type=spec["type"], description=spec["description"], default=spec["default"])
        for name, spec in doc["parameters"].items()
    }
    for name, parameter in parameters.items():
        expected = {"string": str, "integer": int, "boolean": bool}[parameter.type]
        if type(parameter.default) is not expected:
            raise ConfigError(
                f"{source}: parameters.{name}.default: {parameter.default!r} is not of type {parameter.type}; "
                f"fix the default or the type"
            )
        if isinstance(parameter.default, str):
            for ref in references(parameter.default):
                if ref not in BUILTINS:
                    raise ConfigError(
                        f"{source}: parameters.{name}.default uses ${{{ref}}}; defaults may only use "
                        f"{', '.join('${' + b + '}' for b in BUILTINS)}"
                    )
    declared = set(parameters) | set(BUILTINS)
    for path, text in _strings(doc, ()):
        if path and path[0] == "parameters":
            continue
        for ref in references(text):
            if ref not in declared:
                raise ConfigError(
                    f"{source}: {_field_path(path)}: ${{{ref}}} is not a declared parameter; "
                    f"declare it under parameters or fix the name"
                )
    return WorkflowDefinition(
        name=doc["name"], description=doc["description"], parameters=parameters, document=doc, source=source
    )


def load_definition(path: str | Path) -> WorkflowDefinition:
    """Read and validate a ``workflows/*.yaml`` file (not yet resolved).

    Raises
    ------
    ConfigError
        The file is missing, is not YAML, or breaks the schema (the message names the file and the field).

    Examples
    --------
    >>> definition = load_definition(find_workflow("hts_lcms_yield"))
    >>> definition.parameters["batch_size"].type
    'integer'
    """
    path = Path(path)
    _, document = read_yaml(path, "workflow definition")
    return parse_definition(document, str(path))


def load_workflow(name_or_path: str | Path, overrides: Mapping[str, str] | None = None) -> Workflow:
    """Find (:func:`find_workflow`), load, validate and resolve a workflow in one call."""
    return load_definition(find_workflow(name_or_path)).resolve(overrides)


def repo_root() -> Path:
    """The source checkout holding this package (``lab_etl/..``)."""
    return Path(__file__).resolve().parents[2]


def find_workflow(name_or_path: str | Path) -> Path:
    """A path to an existing file, or ``NAME`` looked up as ``workflows/NAME.yaml`` (cwd first, then the repo).

    Raises
    ------
    ConfigError
        Nothing found; the message lists where it looked.
    """
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    stem = candidate.name.removesuffix(".yaml").removesuffix(".yml")
    places = [Path.cwd() / "workflows", repo_root() / "workflows"]
    for folder in places:
        path = folder / f"{stem}.yaml"
        if path.is_file():
            return path
    looked = ", ".join(str(folder / f"{stem}.yaml") for folder in places)
    raise ConfigError(f"workflow '{name_or_path}' not found (looked for {name_or_path} and {looked})")


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``--set key=value`` options as a dict of text values (typed later by :meth:`WorkflowDefinition.resolve`).

    Examples
    --------
    >>> parse_overrides(["batch_size=10", "landing_prefix=lcms/"])
    {'batch_size': '10', 'landing_prefix': 'lcms/'}

    Raises
    ------
    ConfigError
        An item has no ``=`` or an empty key.
    """
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set '{item}': expected key=value, e.g. --set batch_size=10")
        overrides[key.strip()] = value
    return overrides


def _as_int(value: Any, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{source}: expected an integer, got {value!r}; use an integer parameter")
    return value


def _strings(node: Any, path: tuple[str | int, ...]) -> Iterable[tuple[tuple[str | int, ...], str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))


def _field_path(path: Sequence[str | int] | Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe_cycle(nodes: Mapping[str, Job | Crawler], pending: Sequence[str]) -> str:
    """Follow unmet dependencies from the first pending node until a name repeats: ``a -> b -> a``."""
    walk = [pending[0]]
    while True:
        nxt = next(dep for dep in nodes[walk[-1]].depends_on if dep in pending)
        if nxt in walk:
            return " -> ".join([*walk[walk.index(nxt) :], nxt])
        walk.append(nxt)
