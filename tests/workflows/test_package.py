"""The lab_etl wheel: built by `lab-etl package` with pip, holding the parsers and the table contracts."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from lab_etl import __version__
from lab_etl.errors import ConfigError
from lab_etl.workflows.commands import package
from lab_etl.workflows.package import build_wheel, wheel_contracts

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real build for the module, through the command (which calls build_wheel)."""
    out_dir = tmp_path_factory.mktemp("dist")
    result = CliRunner().invoke(package, ["--out-dir", str(out_dir)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    assert path.parent == out_dir.resolve()
    return path


def test_wheel_name_and_metadata(wheel: Path) -> None:
    assert wheel.name == f"lab_etl-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"lab_etl-{__version__}.dist-info/METADATA").decode()
    assert "Name: lab_etl" in metadata and f"Version: {__version__}" in metadata


def test_wheel_holds_the_parsers_and_workflows(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    parsers = {path.name for path in (REPO / "lab_etl" / "parsers").glob("*.py")}
    assert {name.removeprefix("lab_etl/parsers/") for name in names if name.startswith("lab_etl/parsers/")} >= parsers
    assert "lab_etl/parsers/registry.py" in names
    assert "lab_etl/workflows/model.py" in names
    assert not any("__pycache__" in name for name in names)


def test_wheel_really_contains_the_schema_files(wheel: Path) -> None:
    """lab_etl/resources/schemas is a symlink to ../../schemas; the wheel must hold the files, byte for byte."""
    assert (REPO / "lab_etl" / "resources" / "schemas").is_symlink()
    expected = sorted(path.name for path in (REPO / "schemas").glob("*.yaml"))
    assert len(expected) >= 8
    assert wheel_contracts(wheel) == expected
    with zipfile.ZipFile(wheel) as archive:
        for name in ["instrument_readings.yaml", "workflow.schema.json"]:
            assert archive.read(f"lab_etl/resources/schemas/{name}") == (REPO / "schemas" / name).read_bytes()


def test_build_refuses_a_folder_that_is_not_a_checkout(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is not a lab_etl source checkout \(no setup.cfg\)"):
        build_wheel(tmp_path / "dist", root=tmp_path)
