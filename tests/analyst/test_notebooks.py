"""The analyst notebooks, executed with nbclient against the demo lakehouse; and stored without outputs.

The kernel is another process: it reads the Delta tables by path with delta-rs (a Delta table is its folder; no JVM
is needed), finds the warehouse in LAB_ETL_WAREHOUSE and, with LAB_ETL_EXPECT_DEMO=1, also checks the values
of the demo data. A notebook whose checks fail raises in its cell, which nbclient turns into an error here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["plate_heatmaps", "results_over_time", "reagents_vs_yield"]

#: a line each notebook prints once its checks have passed: proof that the last cell ran to its end
LAST_LINE = {
    "plate_heatmaps": "13 plate reads drawn, 1 judged by QC: 1 pass, 0 fail",
    "results_over_time": "outlier wells in 13 plate reads",
    "reagents_vs_yield": "checks passed",
}


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The venv's `python3` kernel; when no kernelspec is installed, one for this interpreter in a temp folder."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if "python3" in specs:
        yield "python3"
        return
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("jupyter")
    install(kernel_name="lab_etl_tests", prefix=str(prefix))
    saved = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(prefix / "share" / "jupyter"), saved]))
    yield "lab_etl_tests"
    if saved is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = saved


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    source = "\n".join(cell.source for cell in code)
    assert 'os.environ.get("LAB_ETL_WAREHOUSE", "../warehouse")' in source and "DeltaTable(" in source
    assert "pyspark" not in source and "SparkSession" not in source


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_clean_on_the_demo_lakehouse(  # type: ignore[no-untyped-def]
    name: str, demo_lakehouse, warehouse: Path, kernel_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("LAB_ETL_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("LAB_ETL_EXPECT_DEMO", "1")
    monkeypatch.setenv("LAB_ETL_EXPORT_DIR", str(tmp_path / "exports"))
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        notebook, timeout=60, kernel_name=kernel_name, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError with the cell and the traceback when a cell fails

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]
    stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "Traceback" not in stderr, stderr
    printed = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert f"warehouse: {warehouse.resolve()}" in printed
    assert LAST_LINE[name] in printed
    if name == "reagents_vs_yield":
        assert "trained on 52 wells, tested on 18" in printed
        assert (tmp_path / "exports" / "assay_results_flat.parquet").is_file()
    figures = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert figures, f"{name} drew no figure"
