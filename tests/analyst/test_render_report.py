"""scripts/render_report.py: the report as a person sees it, through headless Chromium (skipped without chromium)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab_etl.report import build_report

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "render_report.py"
needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed: `make test` installs it as root with apt-get (Debian: apt-get install chromium)",
)


def _render(html: Path, png: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(html), str(png)], capture_output=True, text=True, timeout=120, check=False
    )


@needs_chromium
@pytest.mark.spark
@pytest.mark.slow
def test_the_demo_report_renders_to_a_non_blank_page(demo_lakehouse, demo_run_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    html = build_report(demo_lakehouse, demo_run_id, tmp_path / "demo.html")
    png = tmp_path / "demo.png"
    done = _render(html, png)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{png}: 1280x4000,"), done.stdout
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (1280, 4000)
        # the heat maps' viridis colours are on the page, not only black text on white
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 24) or []}
    assert any(g > 100 and b > 100 and r < 100 for r, g, b in colours)


@needs_chromium
def test_a_blank_page_is_refused(tmp_path: Path) -> None:
    html = tmp_path / "blank.html"
    html.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    done = _render(html, tmp_path / "blank.png")
    assert done.returncode == 1 and "looks blank" in done.stderr, done.stderr


def test_a_missing_page_is_an_error_not_a_screenshot(tmp_path: Path) -> None:
    done = _render(tmp_path / "nothing.html", tmp_path / "nothing.png")
    assert done.returncode == 1 and "nothing.html: no such file" in done.stderr
    assert not (tmp_path / "nothing.png").exists()
