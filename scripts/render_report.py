"""Render a lab_etl run report (or any local HTML page) to a PNG with headless Chromium and check it is not blank.

Chromium is not part of lab_etl's set-up; install it yourself (Debian: ``apt-get install chromium``). The page is
opened as a ``file://`` URL in a throw-away profile, with networking and background services off.

Examples
--------
.. code-block:: console

    $ lab-etl report --warehouse warehouse --output run.html
    $ python scripts/render_report.py run.html run.png
    run.png: 1280x4000, 12.3% of the pixels not background, 4,211 colours
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: a page counts as blank when fewer of its pixels than this differ from the background (the corner pixel)
MIN_INK_FRACTION = 0.01
#: ... or when it has fewer distinct colours than this (text alone gives dozens through anti-aliasing)
MIN_COLOURS = 16


class RenderError(Exception):
    """Chromium is missing, failed, or drew a blank page."""


@dataclass(frozen=True)
class Screenshot:
    """What the rendered PNG holds."""

    path: Path
    width: int
    height: int
    ink_fraction: float
    colours: int

    def line(self) -> str:
        return (
            f"{self.path}: {self.width}x{self.height}, {100 * self.ink_fraction:.1f}% of the pixels not background, "
            f"{self.colours:,} colours"
        )


def find_chromium() -> str:
    """The chromium executable on PATH; :class:`RenderError` naming the fix when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RenderError("no chromium on PATH: install it (Debian: apt-get install chromium) to render reports")


def render(html: Path, png: Path, *, width: int = 1280, height: int = 4000, timeout: float = 90.0) -> Screenshot:
    """Screenshot ``html`` into ``png`` with headless Chromium and check the image is not blank.

    Raises :class:`RenderError` when chromium is missing, fails, times out, writes nothing or draws a blank page.
    """
    if not html.is_file():
        raise RenderError(f"{html}: no such file")
    chromium = find_chromium()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="lab_etl_chromium_") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={png.resolve()}",
            f"--window-size={width},{height}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise RenderError(f"chromium did not finish rendering {html} within {timeout:.0f} s") from None
    if done.returncode != 0 or not png.is_file():
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RenderError(f"chromium failed on {html} (exit {done.returncode}):\n{tail}")
    shot = inspect(png)
    if shot.ink_fraction < MIN_INK_FRACTION or shot.colours < MIN_COLOURS:
        raise RenderError(f"{png} looks blank: {shot.line()}")
    return shot


def inspect(png: Path) -> Screenshot:
    """Size, share of non-background pixels and number of colours of a PNG (Pillow, which matplotlib brings)."""
    from PIL import Image, ImageChops

    with Image.open(png) as opened:
        image = opened.convert("RGB")
    background = Image.new("RGB", image.size, image.getpixel((0, 0)))
    difference = ImageChops.difference(image, background).convert("L").point(lambda v: 255 if v > 8 else 0)
    ink = difference.histogram()[255] / (image.width * image.height)
    colours = image.getcolors(maxcolors=1 << 24)
    return Screenshot(png, image.width, image.height, ink, len(colours) if colours else 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("html", type=Path, help="HTML file to render (e.g. the output of `lab-etl report`)")
    parser.add_argument("png", type=Path, help="PNG to write")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=4000)
    args = parser.parse_args(argv)
    try:
        shot = render(args.html, args.png, width=args.width, height=args.height)
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(shot.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
