"""The landing listing: a local folder is walked in Python, and lists exactly what Hadoop's FileSystem lists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab_etl.errors import ConfigError
from lab_etl.pipeline.landing import _list_hadoop, list_files

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


def _tricky_landing(root: Path) -> Path:
    """Names that URIs escape or Spark hides: spaces, ``%``, ``#``, non-ASCII, hidden and ``_`` folders, a symlink."""
    for relative in (
        "a b/x y.csv",
        "c%20d/p#q.csv",
        "é/ü.txt",
        "_hidden/z.csv",
        ".dot/z.csv",
        "a b/.x.csv",
        "a b/_y.csv",
        "eln/e.csv",
        "deep/er/est/f.csv",
    ):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(relative.encode())
    os.utime(root / "a b" / "x y.csv", ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    (root / "linked").symlink_to(root / "deep")
    return root


@pytest.mark.parametrize("exclude", [(), ("eln",)])
def test_the_local_walk_lists_what_hadoop_lists(spark, tmp_path: Path, exclude: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    landing = _tricky_landing(tmp_path / "landing")
    for root in (str(landing), f"file:{landing}", f"file://{landing}/"):
        assert list_files(spark, root, exclude) == _list_hadoop(spark, root, exclude), root
    listed = {f.path for f in list_files(spark, str(landing), exclude)}
    assert f"file:{landing}/a b/x y.csv" in listed and f"file:{landing}/linked/er/est/f.csv" in listed
    assert not any("/_hidden/" in p or "/.dot/" in p or p.endswith(("/.x.csv", "/_y.csv")) for p in listed)
    assert (f"file:{landing}/eln/e.csv" in listed) == (exclude == ())


def test_the_local_walk_lists_the_demo_landing_as_hadoop_does(spark) -> None:  # type: ignore[no-untyped-def]
    landing = ROOT / "examples" / "landing"
    local = list_files(spark, str(landing))
    assert local == _list_hadoop(spark, str(landing), ())
    assert len(local) >= 12


def test_a_missing_landing_is_a_config_error(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="does not exist"):
        list_files(spark, str(tmp_path / "nowhere"))
