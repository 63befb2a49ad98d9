"""The layering of lab_etl, written down: which module may import which.

Data flows one way (STYLE.md): parsers and side-input readers know bytes, transforms know DataFrames, and only
the pipeline and the edge (lakehouse, quality, catalog, governance) write anything. Each rule below names the
modules it applies to and the imports it forbids; the test reads every import of every module with ``ast``
(module-level and inside functions, ``import x`` and ``from x import y``, relative imports, and
``importlib.import_module("x")``) and fails with the file, line, import and rule of each breach.

The checker is tested on planted breaches in a temporary tree, so an empty result means "no breach", not "the
checker saw nothing".
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Parsers, side-input readers, transforms and the plate model: the pure layers.
PURE = ("lab_etl.parsers", "lab_etl.layouts", "lab_etl.eln", "lab_etl.chem", "lab_etl.transforms", "lab_etl.plates")
#: The pipeline and the edge: what the pure layers must never reach up to.
UPPER = ("lab_etl.pipeline", "lab_etl.lakehouse", "lab_etl.quality", "lab_etl.catalog", "lab_etl.governance")
READERS = ("lab_etl.layouts", "lab_etl.eln", "lab_etl.chem")
#: Modules that read files (and the package roots that re-export them); transforms take the readers' model instead.
FILE_READERS = (
    "lab_etl.layouts.plate_map_csv",
    "lab_etl.layouts.wellmap_toml",
    "lab_etl.layouts.hte",
    "lab_etl.eln.rocrate",
    "lab_etl.eln.table_export",
    "lab_etl.chem.chembl_downloads",
)
PACKAGE_ROOTS = READERS
GLUE_ADAPTER = "lab_etl.glue_job"


@dataclass(frozen=True)
class Rule:
    """Modules under ``applies_to`` (dotted prefixes; or whose file name starts with ``file_prefix``), except
    ``exempt``, must not import modules under ``forbidden`` (dotted prefixes) or exactly ``forbidden_exact``."""

    name: str
    applies_to: tuple[str, ...]
    forbidden: tuple[str, ...]
    forbidden_exact: tuple[str, ...] = ()
    exempt: tuple[str, ...] = ()
    file_prefix: str | None = None

    def covers(self, module: str) -> bool:
        if module in self.exempt:
            return False
        if self.file_prefix is not None and module.rsplit(".", 1)[-1].startswith(self.file_prefix):
            return True
        return any(_under(module, prefix) for prefix in self.applies_to)

    def forbids(self, target: str) -> bool:
        return target in self.forbidden_exact or any(_under(target, prefix) for prefix in self.forbidden)


RULES = (
    Rule(
        "parsers, readers, transforms and plates never import the pipeline, lakehouse, quality, catalog or governance",
        applies_to=PURE,
        forbidden=UPPER,
    ),
    Rule("readers (layouts, eln, chem) never import transforms", applies_to=READERS, forbidden=("lab_etl.transforms",)),
    Rule(
        "transforms import the readers' model (layouts.model, layouts.roles, chem.structures ...), not a file reader "
        "or a reader package root",
        applies_to=("lab_etl.transforms",),
        forbidden=FILE_READERS,
        forbidden_exact=PACKAGE_ROOTS,
    ),
    Rule(
        "glue*.py (the job adapter, the catalog) never import the pipeline",
        applies_to=(),
        forbidden=("lab_etl.pipeline",),
        file_prefix="glue",
    ),
    Rule(
        "only the job adapter lab_etl/glue_job.py imports awsglue",
        applies_to=("lab_etl", "jobs"),
        forbidden=("awsglue",),
        exempt=(GLUE_ADAPTER,),
    ),
)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    statement: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: `{self.statement}` breaks the rule: {self.rule}"


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(root: Path, dotted: str) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(root: Path, path: Path) -> Iterator[tuple[int, str, str]]:
    """``(line, statement as written, dotted module imported)`` for every import in the file."""
    module = _module_name(root, path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, f"import {alias.name}", alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            written = "." * node.level + (node.module or "")
            for alias in node.names:
                # `from lab_etl import pipeline` imports the module lab_etl.pipeline; `from x import name` imports x
                candidate = f"{base}.{alias.name}"
                target = candidate if _is_module(root, candidate) else base
                yield node.lineno, f"from {written} import {alias.name}", target
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))
            )
        ):
            yield node.lineno, f"import_module({node.args[0].value!r})", node.args[0].value


def layering_violations(root: Path) -> list[Violation]:
    """Every import under ``root``'s ``lab_etl/`` and ``jobs/`` that breaks one of :data:`RULES`."""
    found = []
    files = sorted([*(root / "lab_etl").rglob("*.py"), *(root / "jobs").glob("*.py")])
    for path in files:
        module = _module_name(root, path)
        rules = [rule for rule in RULES if rule.covers(module)]
        for line, statement, target in _imports(root, path):
            for rule in rules:
                if rule.forbids(target):
                    found.append(Violation(str(path.relative_to(root)), line, statement, rule.name))
    return found


def test_lab_etl_keeps_its_layers() -> None:
    violations = layering_violations(REPO)
    assert not violations, "imports against the layering:\n" + "\n".join(map(str, violations))


def test_the_checker_reads_the_real_tree() -> None:
    # the real tree has imports the rules look at: a checker that parsed nothing would pass the test above
    imports = [
        target for path in (REPO / "lab_etl" / "transforms").glob("*.py") for _, _, target in _imports(REPO, path)
    ]
    assert "lab_etl.layouts.roles" in imports
    assert "lab_etl.chem.structures" in imports
    adapter = [target for _, _, target in _imports(REPO, REPO / "lab_etl" / "glue_job.py")]
    assert "awsglue.utils" in adapter and "lab_etl.run_ids" in adapter


# ---------------------------------------------------------------------------------------------- the test's test


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """A small lab_etl tree: the packages the rules name, plus ``files`` (path -> source)."""
    for package in ("lab_etl", *(name.replace(".", "/") for name in (*PURE[:-1], *UPPER, *READERS))):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    (tmp_path / "jobs").mkdir()
    for module in (*FILE_READERS, "lab_etl.layouts.roles", "lab_etl.transforms.qc", "lab_etl.pipeline.ingest"):
        (tmp_path / (module.replace(".", "/") + ".py")).write_text("")
    for name in ("plates.py", "glue_job.py", "run_ids.py"):
        (tmp_path / "lab_etl" / name).write_text("")
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    return tmp_path


PARSERS_RULE, READERS_RULE, TRANSFORMS_RULE, GLUE_RULE, AWSGLUE_RULE = (rule.name for rule in RULES)

#: (file, its source, the import as the message must quote it, the rule it breaks)
PLANTED = [
    (
        "lab_etl/parsers/vendor.py",
        "from lab_etl.pipeline.ingest import ingest_landing\n",
        "from lab_etl.pipeline.ingest import ingest_landing",
        PARSERS_RULE,
    ),
    (
        "lab_etl/plates.py",
        "def f():\n    import lab_etl.lakehouse.delta\n",
        "import lab_etl.lakehouse.delta",
        PARSERS_RULE,
    ),
    ("lab_etl/layouts/hte.py", "from lab_etl import quality\n", "from lab_etl import quality", PARSERS_RULE),
    (
        "lab_etl/chem/matching.py",
        "from ..catalog import glue_catalog\n",
        "from ..catalog import glue_catalog",
        PARSERS_RULE,
    ),
    (
        "lab_etl/transforms/gold.py",
        "from lab_etl.governance.lakeformation import plan\n",
        "from lab_etl.governance.lakeformation import plan",
        PARSERS_RULE,
    ),
    (
        "lab_etl/eln/model.py",
        "from lab_etl.transforms.qc import plate_qc\n",
        "from lab_etl.transforms.qc import plate_qc",
        READERS_RULE,
    ),
    (
        "lab_etl/layouts/fields.py",
        "def f():\n    from lab_etl.transforms import qc\n",
        "from lab_etl.transforms import qc",
        READERS_RULE,
    ),
    (
        "lab_etl/transforms/plate_mapping.py",
        "from lab_etl.layouts import role_from_sample_name\n",
        "from lab_etl.layouts import role_from_sample_name",
        TRANSFORMS_RULE,
    ),
    (
        "lab_etl/transforms/experiments.py",
        "from lab_etl.eln.table_export import read_eln_table\n",
        "from lab_etl.eln.table_export import read_eln_table",
        TRANSFORMS_RULE,
    ),
    (
        "lab_etl/glue_job.py",
        "def run_id():\n    from lab_etl.pipeline.ingest import new_run_id\n",
        "from lab_etl.pipeline.ingest import new_run_id",
        GLUE_RULE,
    ),
    ("lab_etl/catalog/glue_catalog.py", "from lab_etl import pipeline\n", "from lab_etl import pipeline", GLUE_RULE),
    (
        "lab_etl/quality/gate.py",
        "from awsglue.context import GlueContext\n",
        "from awsglue.context import GlueContext",
        AWSGLUE_RULE,
    ),
    (
        "lab_etl/lakehouse/spark.py",
        "import importlib\nimportlib.import_module('awsglue.job')\n",
        "import_module('awsglue.job')",
        AWSGLUE_RULE,
    ),
    ("jobs/ingest.py", "import awsglue.utils\n", "import awsglue.utils", AWSGLUE_RULE),
]


@pytest.mark.parametrize(("path", "source", "statement", "rule"), PLANTED, ids=[f"{p[0]}:{p[2]}" for p in PLANTED])
def test_the_checker_finds_a_planted_breach(tmp_path: Path, path: str, source: str, statement: str, rule: str) -> None:
    root = _tree(tmp_path, {path: source})
    assert [str(v) for v in layering_violations(root)] == [
        f"{path}:{source.count(chr(10))}: `{statement}` breaks the rule: {rule}"
    ]


def test_the_checker_passes_what_the_layering_allows(tmp_path: Path) -> None:
    allowed = {
        "lab_etl/transforms/plate_mapping.py": "def f():\n    from lab_etl.layouts.roles import role_from_sample_name",
        "lab_etl/transforms/chembl.py": "from lab_etl.transforms import qc\nfrom lab_etl.plates import GEOMETRY\n",
        "lab_etl/eln/table_export.py": "from lab_etl.layouts.plate_map_csv import read_plate_map_csv\n",
        "lab_etl/glue_job.py": "import awsglue.utils\nfrom lab_etl.run_ids import new_run_id\n",
        "lab_etl/pipeline/steps.py": "from lab_etl import layouts\nfrom lab_etl.transforms.qc import plate_qc\n",
        "lab_etl/lakehouse/spark.py": "from lab_etl import glue_job\n",
        "jobs/ingest.py": "from lab_etl.glue_job import GlueJob\nfrom lab_etl.pipeline.run import step_ingest\n",
    }
    assert layering_violations(_tree(tmp_path, allowed)) == []
