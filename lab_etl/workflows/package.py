"""Build lab_etl's wheel, the one Glue jobs install with ``--additional-python-modules``.

The build runs ``pip wheel <tree> --no-deps -w <out_dir>`` on a staged copy of the source checkout (found from
this package's location): setuptools writes ``build/`` and ``*.egg-info`` next to the sources it builds, and a
shared checkout should not collect them. The staged copy keeps ``lab_etl/resources/schemas`` a symlink to
``schemas/``, as in the repository, and the built wheel is checked to really contain the table contracts.

Examples
--------
>>> wheel = build_wheel(Path("dist"))  # doctest: +SKIP
>>> wheel.name  # doctest: +SKIP
'lab_etl-0.1.0-py3-none-any.whl'
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from lab_etl import __version__
from lab_etl.errors import ConfigError
from lab_etl.workflows.model import repo_root

#: What the build reads from the checkout (those that exist are staged).
BUILD_INPUTS = ("setup.cfg", "setup.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "lab_etl", "schemas")


def build_wheel(out_dir: Path, root: Path | None = None) -> Path:
    """Build ``lab_etl-<version>-py3-none-any.whl`` into ``out_dir`` and return its path.

    Parameters
    ----------
    out_dir:
        Folder for the wheel (created if missing); an older wheel of the same version is replaced.
    root:
        The source checkout; default the one this package was imported from.

    Raises
    ------
    ConfigError
        No checkout (lab_etl installed from a wheel), pip failed (its last lines are in the message), or the
        wheel lacks the ``schemas/*.yaml`` contracts.
    """
    root = root or repo_root()
    if not (root / "setup.cfg").is_file() or not (root / "lab_etl").is_dir():
        raise ConfigError(f"{root} is not a lab_etl source checkout (no setup.cfg); build the wheel from a clone")
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lab_etl-wheel-") as tmp:
        stage = Path(tmp) / "src"
        stage.mkdir()
        for name in BUILD_INPUTS:
            path = root / name
            if path.is_dir():
                shutil.copytree(
                    path, stage / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                )
            elif path.is_file():
                shutil.copy2(path, stage / name)
        built = Path(tmp) / "out"
        command = [sys.executable, "-m", "pip", "wheel", str(stage), "--no-deps", "-w", str(built), "-q"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = sorted(built.glob(f"lab_etl-{__version__}-*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise ConfigError(f"pip wheel failed for {root} (exit {result.returncode}):\n{tail}")
        target = out_dir / wheels[0].name
        shutil.copy2(wheels[0], target)
    missing = sorted(set(_contract_names(root)) - set(wheel_contracts(target)))
    if missing:
        raise ConfigError(
            f"{target} lacks the table contracts {', '.join(missing)} under lab_etl/resources/schemas; check that "
            "lab_etl/resources/schemas links to ../../schemas and setup.cfg's package_data includes resources/**/*"
        )
    return target


def wheel_contracts(wheel: Path) -> list[str]:
    """File names of the ``schemas/*.yaml`` contracts inside a built wheel."""
    prefix = "lab_etl/resources/schemas/"
    with zipfile.ZipFile(wheel) as archive:
        return sorted(
            name.removeprefix(prefix)
            for name in archive.namelist()
            if name.startswith(prefix) and name.endswith(".yaml")
        )


def _contract_names(root: Path) -> list[str]:
    return sorted(path.name for path in (root / "schemas").glob("*.yaml"))
