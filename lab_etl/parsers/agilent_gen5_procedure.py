"""The ``Procedure Details`` of an Agilent (BioTek) Gen5 export: the raw reads its Read steps take, and the labels
Gen5 gives them in the data grids and tables (``450``, ``Read 1:485/20,528/20``, ``LUM:Lum``, ``977 [Test]`` ...).

:func:`read_labels` maps every raw-read label of a procedure to its :class:`ReadChannel` (measurement, channel,
wavelengths, kinetic or spectrum); :func:`lookup_read` finds the read a data row's label names.
:mod:`lab_etl.parsers.agilent_gen5` reads the data with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from lab_etl.parsers.reading import OpticalRead
from lab_etl.parsers.utils import to_float

_NO_FILTER = {"full light", "plug", "hole"}
_READ_PREFIX = re.compile(r"^Read (\d+):")
_MODE_LINE = re.compile(r"^(Absorbance|Fluorescence|Luminescence|Alpha)\s+(Endpoint|Spectrum|Area Scan)", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadChannel(OpticalRead):
    """One raw read of a procedure step, as Gen5 labels it in the data grids: the optical read and its step."""

    step: int
    kinetic: bool = False
    spectrum: str | None = None  # "absorbance", "emission", "excitation" scans


@dataclass
class _Step:
    number: int
    label: str | None
    kinetic: bool
    lines: list[str] = field(default_factory=list)


def setting_number(text: str | None) -> float | None:
    """The number before any ``/`` and space: ``485/20`` -> 485, ``1.5E+03`` -> 1500 (no decimal comma)."""
    return to_float(text.split("/")[0].strip().split(" ")[0]) if text else None


def _fmt(number: float | None) -> str:
    return "" if number is None else f"{number:g}"


def _settings(lines: list[str]) -> dict[str, list[str]]:
    """``Key: value`` pairs of a step (several filter sets give several values per key)."""
    found: dict[str, list[str]] = {}
    for line in lines:
        text = line.strip().strip('"').strip()
        special = next(
            (k for k in ("Fixed Excitation:", "Fixed Emission:", "Emission Start:", "Excitation Start:") if k in text),
            None,
        )
        if special:
            found.setdefault(special[:-1], []).append(text.split(special, 1)[1].split(",")[0].strip())
            continue
        if text.startswith("Wavelengths:"):
            found["Wavelengths"] = [w.strip() for w in text.split(":", 1)[1].split(",") if w.strip()]
            continue
        for part in text.split(",  "):
            key, sep, value = part.partition(": ")
            if sep:
                found.setdefault(key.strip(), []).append(value.strip())
    return found


def _step_channels(step: _Step) -> dict[str, ReadChannel]:
    """The labels Gen5 gives the raw reads of one Read step, each mapped to its channel."""
    mode, read_type = "", "endpoint"
    for line in step.lines:
        match = _MODE_LINE.match(line.replace("\t", " ").strip())
        if match:
            mode, read_type = match.group(1).lower(), match.group(2).lower()
            break
    if not mode:
        return {}
    prefix = f"{step.label}:" if step.label else ""
    settings = _settings(step.lines)
    polarization = any(line.strip() == "Fluorescence Polarization" for line in step.lines)
    kinetic = step.kinetic
    labels: dict[str, ReadChannel] = {}

    def add(names: list[str], channel: ReadChannel) -> None:
        for name in names:
            labels.setdefault(name, channel)

    if read_type == "area scan":
        return {}  # several points per well: not a plate grid; reported when nothing else is readable
    if read_type == "spectrum":
        fixed_ex = setting_number(next(iter(settings.get("Fixed Excitation", [])), None))
        fixed_em = setting_number(next(iter(settings.get("Fixed Emission", [])), None))
        if mode == "absorbance":
            kind, channel = "absorbance", "scan"
        elif fixed_em is not None or any("EX Spectrum" in line for line in step.lines):
            kind, channel = "excitation", f"scan/{_fmt(fixed_em)}" if fixed_em else "excitation scan"
        else:
            kind, channel = "emission", f"{_fmt(fixed_ex)}/scan" if fixed_ex else "scan"
        measurement = "fluorescence" if mode == "alpha" else mode
        spectral = ReadChannel(measurement, channel, None, fixed_ex, step=step.number, kinetic=kinetic, spectrum=kind)
        add(
            [
                f"{prefix}Spectrum",
                f"{prefix}EM Spectrum",
                f"{prefix}EX Spectrum",
                "EM Spectrum",
                "EX Spectrum",
                "Spectrum",
                step.label or "Spectrum",
            ],
            spectral,
        )
        return labels
    if mode == "absorbance":
        for wavelength in settings.get("Wavelengths", []):
            add(
                [f"{prefix}{wavelength}"],
                ReadChannel(
                    "absorbance",
                    _fmt(setting_number(wavelength)) or wavelength,
                    setting_number(wavelength),
                    step=step.number,
                    kinetic=kinetic,
                ),
            )
        for correction in settings.get("Pathlength Correction", [])[:1]:
            test, _, ref = correction.partition(" / ")
            for wavelength, tag in ((test, "Test"), (ref, "Ref")):
                if setting_number(wavelength) is not None:
                    add(
                        [f"{prefix}{wavelength.strip()} [{tag}]"],
                        ReadChannel(
                            "absorbance",
                            _fmt(setting_number(wavelength)),
                            setting_number(wavelength),
                            step=step.number,
                            kinetic=kinetic,
                        ),
                    )
    elif mode == "fluorescence":
        excitations = settings.get("Excitation") or settings.get("Fixed Excitation") or []
        emissions = settings.get("Emission") or settings.get("Fixed Emission") or []
        directions = ("Parallel", "Perpendicular") if polarization else ("",) * len(excitations)
        for excitation, emission, direction in zip(excitations, emissions, directions, strict=False):
            ex, em = setting_number(excitation), setting_number(emission)
            channel = f"{_fmt(ex)}/{_fmt(em)}" + (f" {direction.lower()}" if direction else "")
            read = ReadChannel("fluorescence", channel, em, ex, step=step.number, kinetic=kinetic)
            suffix = f" [{direction}]" if direction else ""
            short = f"{excitation.split('/')[0].strip()},{emission.split('/')[0].strip()}"
            add([f"{prefix}{excitation},{emission}{suffix}", f"{prefix}{short}{suffix}"], read)
    elif mode == "luminescence":
        emissions = settings.get("Emission") or settings.get("Fixed Emission") or ["Full light"]
        for emission in emissions:
            if emission.strip().lower() in _NO_FILTER or setting_number(emission) is None:
                add([f"{prefix}Lum"], ReadChannel("luminescence", "luminescence", step=step.number, kinetic=kinetic))
            else:
                em = setting_number(emission)
                add(
                    [f"{prefix}{emission.split('/')[0].strip()}", f"{prefix}{emission.strip()}"],
                    ReadChannel("luminescence", _fmt(em), em, step=step.number, kinetic=kinetic),
                )
    elif mode == "alpha":
        # AlphaLISA/AlphaScreen: a time-resolved emission read; Gen5 and ASM file it as fluorescence.
        add([f"{prefix}Alpha", "Alpha"], ReadChannel("fluorescence", "alpha", step=step.number, kinetic=kinetic))
    return labels


def _procedure_steps(lines: list[str]) -> list[_Step]:
    steps: list[_Step] = []
    kinetic = False
    current: _Step | None = None
    for line in lines:
        fields = line.split("\t")
        key = fields[0].strip()
        if key == "Start Kinetic":
            kinetic, current = True, None
        elif key == "End Kinetic":
            kinetic, current = False, None
        elif key == "Read":
            second = fields[1].strip() if len(fields) > 1 else ""
            is_mode = bool(_MODE_LINE.match(second))
            current = _Step(
                len(steps) + 1, None if is_mode or not second else second, kinetic, [second] if is_mode else []
            )
            steps.append(current)
        elif key and current is not None:
            current = None  # another procedure step (Shake, Delay, Plate Out/In) ends the read's settings
        elif current is not None:
            current.lines.append("\t".join(fields[1:]))
    return steps


def _label_map(steps: list[_Step]) -> dict[str, list[ReadChannel]]:
    """Every raw-read label of the procedure; channels that two steps share are told apart by the step label."""
    per_step = [_step_channels(step) for step in steps]
    owners: dict[tuple[str, str], set[int]] = {}
    for labels in per_step:
        for read in labels.values():
            owners.setdefault((read.measurement, read.channel), set()).add(read.step)
    result: dict[str, list[ReadChannel]] = {}
    for step, labels in zip(steps, per_step, strict=True):
        for label, read in labels.items():
            if len(owners[(read.measurement, read.channel)]) > 1:
                tag = step.label or f"Read {step.number}"
                read = replace(read, channel=f"{read.channel} [{tag}]")
            result.setdefault(label, []).append(read)
    return result


def lookup_read(labels: dict[str, list[ReadChannel]], text: str) -> ReadChannel | None:
    """The read a data row's label names (``Read 2:450`` picks step 2's ``450``), None when no read has that label."""
    text = text.strip().strip('"').strip()
    step = None
    match = _READ_PREFIX.match(text)
    if match:
        step, text = int(match.group(1)), text[match.end() :]
    candidates = labels.get(text)
    if not candidates:
        return None
    if step is None:
        return candidates[0]
    return next((c for c in candidates if c.step == step), None)


def read_labels(procedure: list[str]) -> dict[str, list[ReadChannel]]:
    """Every raw-read label of a procedure's Read steps (the ``Procedure Details`` lines), each mapped to its reads;
    empty when no Read step has a known read mode (absorbance, fluorescence, luminescence, alpha)."""
    return _label_map(_procedure_steps(procedure))
