"""A realistic, deterministic landing area for the pipeline benchmark: N plates in five vendor layouts plus ELN.

Each plate is one instrument export written in the layout of the real files in ``tests/data/instruments``:

- ``bmg_mars``: ``bmg_mars/<yy-mm-dd hh-mm-ss> <plate> FI.csv``, as ``bmg_mars/16-03-03 13-25-45 472 QC 384 FI.csv``
  (plate = ``ID1``);
- ``envision``: ``envision/<protocol>_<assay id>.csv``, as ``perkin_elmer_envision/PE_Envision_absorbance_A450_example
  .csv`` (plate = ``Barcode``; the protocol footer names the plate type);
- ``gen5``: ``gen5/<yymmdd>_<hhmmss>_<plate>_lum_endpoint.txt``, as ``agilent_gen5/endpoint_singleplate.txt``;
- ``plate_grid``: ``grid/<plate>_abs450.csv``, the generic "matrix" export with a ``Plate ID:`` header;
- ``long_csv``: ``hte_yields/<plate>.csv``, a pyGecko-style yield table (well, yield, RT-MS, analyte) with a Plate
  column.

Every plate has its controls in fixed columns — negative (DMSO, full signal) in columns 1-2, positive (reference
inhibitor, low signal) in the last two columns — so plate QC computes a Z'. Plates are grouped into experiments
of :data:`PLATES_PER_EXPERIMENT`; a share of the experiments (``eln_share``) come with an ELN CSV export
(``<out>/eln/<experiment>.csv``, docs/eln_export.md) giving each well's role, compound and solvent; the plates of
the other experiments get a plate-map CSV (``<out>/layouts/<plate>.csv``) giving the roles only.

Everything is derived from ``(seed, plate index)``, so the same call writes the same bytes, and
:func:`write_plate` adds plate ``N`` to an existing landing (the incremental benchmark) exactly as
``generate(..., plates=N + 1)`` would have written it.

    python bench/generate.py OUT --plates 40 [--format 384] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lab_etl.errors import ConfigError, DataQualityError  # noqa: E402
from lab_etl.plates import GEOMETRY, row_label  # noqa: E402

#: the vendor layouts, in the order plates are dealt to them (plate i gets FORMATS[i % 5])
FORMATS = ("bmg_mars", "envision", "gen5", "plate_grid", "long_csv")
#: readings per well each layout gives (the long CSV yield table has a yield and a retention-time column)
READINGS_PER_WELL = {"bmg_mars": 1, "envision": 1, "gen5": 1, "plate_grid": 1, "long_csv": 2}
PLATES_PER_EXPERIMENT = 8
_START = datetime(2025, 1, 6, 8, 0, 0)

#: screened compounds: (name, SMILES, ChEMBL id when certain)
COMPOUNDS = (
    ("aspirin", "CC(=O)Oc1ccccc1C(=O)O", "CHEMBL25"),
    ("caffeine", "Cn1c(=O)c2c(ncn2C)n(C)c1=O", "CHEMBL113"),
    ("paracetamol", "CC(=O)Nc1ccc(O)cc1", "CHEMBL112"),
    ("ibuprofen", "CC(C)Cc1ccc(C(C)C(=O)O)cc1", None),
    ("naproxen", "COc1ccc2cc(C(C)C(=O)O)ccc2c1", None),
    ("diclofenac", "OC(=O)Cc1ccccc1Nc1c(Cl)cccc1Cl", None),
    ("imatinib", "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1", None),
    ("gefitinib", "COc1cc2ncnc(Nc3ccc(F)c(Cl)c3)c2cc1OCCCN1CCOCC1", None),
    ("erlotinib", "COCCOc1cc2ncnc(Nc3cccc(C#C)c3)c2cc1OCCOC", None),
    ("quinine", "COc1ccc2nccc(C(O)C3CC4CCN3CC4C=C)c2c1", None),
    ("metformin", "CN(C)C(=N)NC(=N)N", None),
    ("nicotine", "CN1CCCC1c1cccnc1", None),
)
POSITIVE_CONTROL = ("staurosporine", "CC12C(C(CC(O1)N3C4=CC=CC=C4C5=C6C(=C7C8=CC=CC=C8N2C7=C53)CNC6=O)NC)OC")
DMSO = ("DMSO", "CS(C)=O")


@dataclass(frozen=True)
class PlateFile:
    """One generated instrument export: the plate it holds and what parsing it must give."""

    plate_id: str
    index: int
    vendor_format: str
    path: Path
    wells: int
    readings: int
    experiment_id: str
    layout_source: str  # "eln" | "plate_map"


@dataclass
class Manifest:
    """What :func:`generate` wrote under ``landing``; counts are what the native parsers must read back."""

    landing: Path
    plate_format: int
    seed: int
    plates: list[PlateFile] = field(default_factory=list)
    eln_files: list[Path] = field(default_factory=list)
    layout_files: list[Path] = field(default_factory=list)

    @property
    def wells(self) -> int:
        return sum(p.wells for p in self.plates)

    @property
    def readings(self) -> int:
        return sum(p.readings for p in self.plates)

    @property
    def bytes(self) -> int:
        files = [p.path for p in self.plates] + self.eln_files + self.layout_files
        return sum(f.stat().st_size for f in files)


# ------------------------------------------------------------------------------------------------ plate content


def plate_id_of(index: int, seed: int = 0) -> str:
    """The barcode of plate ``index``: ``BP<seed>-<index>`` (no underscore: Gen5 file names carry it)."""
    return f"BP{seed}-{index:06d}"


def experiment_of(index: int) -> int:
    return index // PLATES_PER_EXPERIMENT


def control_role(column: int, columns: int) -> str:
    """Negative control (DMSO, full signal) in columns 1-2, positive control in the last two, samples between."""
    if column <= 2:
        return "negative_control"
    if column > columns - 2:
        return "positive_control"
    return "sample"


def _signal(rng: random.Random, role: str, high: float, low: float) -> float:
    """One well's signal: controls tight around their level, samples mostly inactive with ~8 % hits."""
    if role == "negative_control":
        return rng.gauss(high, 0.04 * high)
    if role == "positive_control":
        return rng.gauss(low, 0.05 * low)
    if rng.random() < 0.08:
        return rng.uniform(low, high)
    return rng.gauss(high, 0.06 * high)


def _grid(rng: random.Random, plate_format: int, high: float, low: float) -> list[list[float]]:
    rows, columns = GEOMETRY[plate_format]
    return [
        [max(_signal(rng, control_role(c, columns), high, low), 0.0) for c in range(1, columns + 1)]
        for _ in range(rows)
    ]


def _rng(seed: int, index: int, salt: int = 0) -> random.Random:
    return random.Random(seed * 1_000_003 + index * 7 + salt)


def _read_at(index: int) -> datetime:
    return _START + timedelta(minutes=7 * index)


# ------------------------------------------------------------------------------------------------ vendor layouts


def _bmg_mars(plate_id: str, plate_format: int, grid: list[list[float]], at: datetime) -> tuple[str, str]:
    columns = len(grid[0])
    pad = "," * columns
    lines = [
        f"User: USER,Path: C:\\Program Files (x86)\\BMG\\PHERAstar\\User\\Data,Test run no.: {at.minute + 1}" + pad[3:],
        f"Test name: Kinase screen {plate_format} FI,Date: {at:%d/%m/%Y},Time: {at:%H:%M:%S}" + pad[3:],
        pad,
        f"ID1: {plate_id}" + pad[1:],
        "Fluorescence (FI)" + pad[1:],
        pad,
        "Raw Data (485/520)" + pad[1:],
        pad,
        "," + ",".join(str(c) for c in range(1, columns + 1)),
    ]
    lines += [row_label(r + 1) + "," + ",".join(f"{v:.0f}" for v in row) for r, row in enumerate(grid)]
    return f"bmg_mars/{at:%y-%m-%d %H-%M-%S} {plate_id} FI.csv", "\r\n".join(lines) + "\r\n"


def _envision(plate_id: str, plate_format: int, grid: list[list[float]], at: datetime, index: int) -> tuple[str, str]:
    rows, columns = GEOMETRY[plate_format]
    stamp = f"{at.month}/{at.day}/{at.year} {at.strftime('%I:%M:%S %p').lstrip('0')}"
    header = ",".join(f"{c:02d}" for c in range(1, columns + 1))
    lines = [
        "Plate information",
        "Plate,Repeat,Barcode,Measured height,Chamber temperature at start,Chamber temperature at end,Humidity at "
        "start,Humidity at end,Ambient temperature at start,Ambient temperature at end,Group,Label,ScanX,ScanY,"
        "Measinfo,Kinetics,Measurement date,",
        f'1,1,="{plate_id}",14.35,22.00,22.10,42.0,41.5,22.5,22.6,1,A450(1),0,0,De=1st Ex=Btm Em=N/A Wdw=N/A (8),0,'
        f"{stamp},",
        "",
        "Background information",
        "Plate,Label,Result,Signal,Flashes/Time,Meastime,MeasInfo,",
        "1,A450,0,295000,300,00:00:00.000,De=1st Ex=Btm Em=N/A Wdw=N/A (8),",
        "",
        "Results for A450(1) - channel 1 (A)",
        f",{header},",
    ]
    lines += [row_label(r + 1) + "," + ",".join(f"{v:.4f}" for v in row) + "," for r, row in enumerate(grid)]
    lines += [
        "",
        "Basic assay information",
        f"Assay ID: ,,,,{1000 + index}",
        f"Assay Started: ,,,,{stamp}",
        "Assay Finished: ,,,,N/A",
        f"Assay Exported: ,,,,{stamp}",
        "Protocol ID: ,,,,100250",
        "Protocol Name: ,,,,Kinase screen A450",
        'Serial#: ,,,,="1050242"',
        "Protocol information",
        "Protocol:",
        "Protocol name,,,,Kinase screen A450",
        "Number of assay repeats,,,,1",
        "Plate type:",
        f"Name of the plate type,,,,{plate_format} General",
        f"Number of rows,,,,{rows}",
        f"Number of columns,,,,{columns}",
        f"Number of the wells in the plate,,,,{plate_format}",
        "Height of the plate,,,,14.35 mm",
        "Labels:",
        "A450,,,,2000014",
        "Exc. filter,,,,BFP 450",
        "Measurement height,,,,13 mm",
        "Number of flashes,,,,300",
        "Filters:",
        "BFP 450,,,,103",
        "Description,,,,Absorbance 450",
        "CWL,,,,450",
        "Bandwidth,,,,8",
        "Instrument:",
        "Serial number,,,,1050242",
        "Nickname,,,,EnVision",
        "Exported with EnVision Workstation version 1.14.3049.1193",
    ]
    return f"envision/Kinase screen A450_{1000 + index}.csv", "\r\n".join(lines) + "\r\n"


def _gen5(plate_id: str, plate_format: int, grid: list[list[float]], at: datetime) -> tuple[str, str]:
    columns = len(grid[0])
    header = "\t" + "\t".join(str(c) for c in range(1, columns + 1))
    layout_names = {"negative_control": "NEGCON", "positive_control": "POSCON"}
    lines = [
        "",
        "Software Version\t3.12.08",
        "",
        "Experiment File Path:\tC:\\Users\\Public\\Documents\\Experiments\\kinase_screen.xpt",
        "Protocol File Path:\tC:\\Users\\Public\\Documents\\Protocols\\LUM_endpoint.prt",
        "",
        "Plate Number\tPlate 1",
        f"Barcode\t{plate_id}",
        f"Date\t{at.month}/{at.day}/{at.year}",
        f"Time\t{at.strftime('%I:%M:%S %p').lstrip('0')}",
        "Reader Type:\tSynergy H1",
        "Reader Serial Number:\t21092112",
        "Reading Type\tReader",
        "",
        "Procedure Details",
        "",
        f"Plate Type\t{plate_format} WELL PLATE (Use plate lid)",
        "Eject plate on completion\t",
        "Read\tLUM",
        "\tLuminescence Endpoint",
        "\tFull Plate",
        "\tIntegration Time: 0:01.00 (MM:SS.ss)",
        "\tFilter Set 1",
        "\t    Emission: Full light",
        "\t    Optics: Top,  Gain: 135",
        "\tRead Speed: Normal,  Delay: 100 msec",
        "\tRead Height: 4.5 mm",
        "",
        "Layout",
        header,
    ]
    sample = 0
    for r, row in enumerate(grid):
        names = []
        for c in range(1, len(row) + 1):
            role = control_role(c, columns)
            if role == "sample":
                sample += 1
            names.append(layout_names.get(role, f"SPL{sample}"))
        lines.append(row_label(r + 1) + "\t" + "\t".join(names) + "\tWell ID")
    lines += ["", "Results", header]
    lines += [row_label(r + 1) + "\t" + "\t".join(f"{v:.0f}" for v in row) + "\tLUM:Lum" for r, row in enumerate(grid)]
    return f"gen5/{at:%y%m%d_%H%M%S}_{plate_id}_lum_endpoint.txt", "\r\n".join(lines) + "\r\n\r\n"


def _plate_grid(plate_id: str, plate_format: int, grid: list[list[float]], at: datetime) -> tuple[str, str]:
    columns = len(grid[0])
    lines = [
        f"Plate ID: {plate_id}",
        "Measurement: Absorbance",
        "Wavelength: 450",
        "Unit: OD",
        f"Date: {at:%Y-%m-%d %H:%M:%S}",
        "Instrument: Tecan Spark",
        f"Plate Type: {plate_format}",
        "",
        "Absorbance 450 nm",
        "," + ",".join(str(c) for c in range(1, columns + 1)),
    ]
    lines += [row_label(r + 1) + "," + ",".join(f"{v:.3f}" for v in row) for r, row in enumerate(grid)]
    return f"grid/{plate_id}_abs450.csv", "\n".join(lines) + "\n"


def _long_csv(plate_id: str, plate_format: int, grid: list[list[float]], rng: random.Random) -> tuple[str, str]:
    lines = ["Plate,Well,Yield [%],RT-MS [min],Analyte"]
    columns = len(grid[0])
    for r, row in enumerate(grid):
        for c, value in enumerate(row, start=1):
            role = control_role(c, columns)
            analyte = "" if role != "sample" else COMPOUNDS[(r * columns + c) % len(COMPOUNDS)][1]
            lines.append(f"{plate_id},{row_label(r + 1)}{c},{value:.1f},{rng.uniform(4.8, 7.2):.3f},{analyte}")
    return f"hte_yields/{plate_id}.csv", "\n".join(lines) + "\n"


def write_plate(out: Path, index: int, *, plate_format: int = 384, seed: int = 0, eln_share: float = 0.5) -> PlateFile:
    """Write the instrument export of plate ``index`` under ``out/instruments`` and return what it must parse to.

    The plate's layout (ELN export or plate map) is written by :func:`write_layouts`.

    Examples
    --------
    >>> import tempfile
    >>> plate = write_plate(Path(tempfile.mkdtemp()), 3, plate_format=96)
    >>> plate.vendor_format, plate.readings
    ('plate_grid', 96)
    """
    if plate_format not in GEOMETRY:
        raise ConfigError(f"plate format {plate_format} is not a standard plate; use one of {sorted(GEOMETRY)}")
    vendor_format = FORMATS[index % len(FORMATS)]
    plate_id = plate_id_of(index, seed)
    rng = _rng(seed, index)
    at = _read_at(index)
    if vendor_format == "bmg_mars":
        name, text = _bmg_mars(plate_id, plate_format, _grid(rng, plate_format, 24000, 2400), at)
    elif vendor_format == "envision":
        name, text = _envision(plate_id, plate_format, _grid(rng, plate_format, 1.8, 0.1), at, index)
    elif vendor_format == "gen5":
        name, text = _gen5(plate_id, plate_format, _grid(rng, plate_format, 9000, 200), at)
    elif vendor_format == "plate_grid":
        name, text = _plate_grid(plate_id, plate_format, _grid(rng, plate_format, 1.2, 0.08), at)
    else:
        # a yield is a percentage: lab_gold's gate holds back any value outside 0..100
        yields = [[min(v, 100.0) for v in row] for row in _grid(rng, plate_format, 80.0, 2.0)]
        name, text = _long_csv(plate_id, plate_format, yields, rng)
    path = out / "instruments" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    experiment = experiment_of(index)
    return PlateFile(
        plate_id=plate_id,
        index=index,
        vendor_format=vendor_format,
        path=path,
        wells=plate_format,
        readings=plate_format * READINGS_PER_WELL[vendor_format],
        experiment_id=f"EXP{seed}-{experiment:05d}",
        layout_source="eln" if _has_eln(seed, experiment, eln_share) else "plate_map",
    )


def _has_eln(seed: int, experiment: int, eln_share: float) -> bool:
    return _rng(seed, experiment, salt=1).random() < eln_share


# ------------------------------------------------------------------------------------------------ layouts and ELN

_ELN_HEADER = (
    "experiment_id,project,title,protocol_name,protocol_steps,author,date,eln_software,plate_id,plate_format,well,"
    "role,sample_name,concentration,concentration_unit,reagent_role,reagent_name,smiles,chembl_id,amount,amount_unit"
)
_AUTHORS = ("Ann Lee", "Bob Roe", "Chen Wei", "Dana Fox")


def _eln_export(plates: list[PlateFile], plate_format: int, seed: int) -> str:
    """lab_etl's ELN CSV (docs/eln_export.md): one row per experiment x plate x well x reagent."""
    first = plates[0]
    experiment = experiment_of(first.index)
    at = _read_at(first.index) - timedelta(days=1)
    rows, columns = GEOMETRY[plate_format]
    lines = [_ELN_HEADER]
    head = (
        f"{first.experiment_id},Kinase panel,Kinase inhibition screen {experiment},Single-point screen 10 uM,"
        '"dispense compounds 50 nL|add enzyme and substrate|incubate 1 h|read",'
        f"{_AUTHORS[(seed + experiment) % len(_AUTHORS)]},{at:%Y-%m-%dT%H:%M:%S}+01:00,lab_etl ELN export"
    )
    blank_head = first.experiment_id + ",,,,,,,"
    for plate in plates:
        for r in range(rows):
            for c in range(1, columns + 1):
                well = f"{row_label(r + 1)}{c:02d}"
                role = control_role(c, columns)
                prefix = f"{plate.plate_id},{plate_format},{well}"
                experiment_cells = head if len(lines) == 1 else blank_head
                if role == "negative_control":
                    lines.append(f"{experiment_cells},{prefix},negative_control,DMSO,,,solvent,DMSO,{DMSO[1]},,50,nL")
                    continue
                if role == "positive_control":
                    name, smiles = POSITIVE_CONTROL
                    sample = f"positive_control,{name},1,uM"
                    lines.append(f"{experiment_cells},{prefix},{sample},substrate,{name},{smiles},,50,nL")
                    continue
                name, smiles, chembl_id = COMPOUNDS[(r * columns + c + plate.index) % len(COMPOUNDS)]
                sample = f"sample,{name},10,uM"
                lines.append(f"{experiment_cells},{prefix},{sample},substrate,{name},{smiles},{chembl_id or ''},50,nL")
    return "\n".join(lines) + "\n"


def _plate_map(plate: PlateFile, plate_format: int) -> str:
    """A stacked-grid plate map: the wells' roles, then their samples (library compound ids, so every plate's map
    has its own bytes: the ingest treats identical bytes as a duplicate file)."""
    rows, columns = GEOMETRY[plate_format]
    header = ",".join(str(c) for c in range(1, columns + 1))
    samples_per_plate = rows * (columns - 4)
    lines = ["role," + header]
    lines += [
        row_label(r + 1) + "," + ",".join(control_role(c, columns) for c in range(1, columns + 1)) for r in range(rows)
    ]
    lines += ["", "sample," + header]
    for r in range(rows):
        names = []
        for c in range(1, columns + 1):
            role = control_role(c, columns)
            if role == "negative_control":
                names.append(DMSO[0])
            elif role == "positive_control":
                names.append(POSITIVE_CONTROL[0])
            else:
                # compound-library ids: each sample well of each plate holds its own compound
                names.append(f"CPD-{plate.index * samples_per_plate + r * (columns - 4) + c - 2:08d}")
        lines.append(row_label(r + 1) + "," + ",".join(names))
    return "\n".join(lines) + "\n"


def write_layouts(out: Path, plates: list[PlateFile], plate_format: int, seed: int) -> tuple[list[Path], list[Path]]:
    """ELN exports for the plates whose experiment has one, plate maps for the others; returns (eln, layouts)."""
    eln_files: list[Path] = []
    layout_files: list[Path] = []
    by_experiment: dict[str, list[PlateFile]] = {}
    for plate in plates:
        if plate.layout_source == "eln":
            by_experiment.setdefault(plate.experiment_id, []).append(plate)
        else:
            path = out / "layouts" / f"{plate.plate_id}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_plate_map(plate, plate_format), encoding="utf-8")
            layout_files.append(path)
    for experiment_id, members in by_experiment.items():
        path = out / "eln" / f"{experiment_id}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_eln_export(members, plate_format, seed), encoding="utf-8")
        eln_files.append(path)
    return eln_files, layout_files


def generate(out: Path, plates: int, *, plate_format: int = 384, seed: int = 0, eln_share: float = 0.5) -> Manifest:
    """Write a landing area of ``plates`` plates under ``out`` (created; existing files are overwritten).

    Parameters
    ----------
    out:
        The landing folder: instrument exports under ``instruments/``, ``eln/`` and ``layouts/`` beside them.
    plates:
        How many plates (one instrument file each), dealt round-robin to :data:`FORMATS`.
    plate_format:
        Wells per plate: 96, 384 or 1536 (any standard format works).
    seed:
        Same seed, same bytes.
    eln_share:
        The share of experiments (of :data:`PLATES_PER_EXPERIMENT` plates) that have an ELN export.

    Examples
    --------
    >>> import tempfile
    >>> manifest = generate(Path(tempfile.mkdtemp()), 5, plate_format=96)
    >>> [p.vendor_format for p in manifest.plates][:2], manifest.wells, manifest.readings
    (['bmg_mars', 'envision'], 480, 576)
    """
    if plates < 1:
        raise ConfigError(f"--plates must be at least 1, not {plates}")
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(landing=out, plate_format=plate_format, seed=seed)
    manifest.plates = [
        write_plate(out, i, plate_format=plate_format, seed=seed, eln_share=eln_share) for i in range(plates)
    ]
    manifest.eln_files, manifest.layout_files = write_layouts(out, manifest.plates, plate_format, seed)
    return manifest


def check(manifest: Manifest) -> None:
    """Parse every generated file natively and compare with the manifest.

    Raises
    ------
    DataQualityError
        A file that parses to the wrong parser family, plate, or number of readings, wells or layouts.
    """
    from lab_etl.eln import read_eln_table
    from lab_etl.layouts import read_plate_map_csv
    from lab_etl.parsers.registry import parse_bytes

    parsers = {"bmg_mars": "bmg_mars", "envision": "perkin_elmer_envision", "gen5": "agilent_gen5"}
    for plate in manifest.plates:
        parsed = parse_bytes(plate.path.read_bytes(), plate.path.name, engine="native")
        wanted_parser = parsers.get(plate.vendor_format, plate.vendor_format)
        plate_ids = {r.plate_id for r in parsed.readings}
        wells = {r.well for r in parsed.readings}
        if parsed.parser != wanted_parser or plate_ids != {plate.plate_id}:
            raise DataQualityError(
                f"{plate.path}: read by {parsed.parser} as plate(s) {sorted(plate_ids)}, expected {wanted_parser} "
                f"and plate {plate.plate_id}; fix the {plate.vendor_format} writer in bench/generate.py"
            )
        if len(parsed.readings) != plate.readings or len(wells) != plate.wells:
            raise DataQualityError(
                f"{plate.path}: {len(parsed.readings)} readings on {len(wells)} wells, expected {plate.readings} on "
                f"{plate.wells}; fix the {plate.vendor_format} writer in bench/generate.py"
            )
    eln_plates = {p.plate_id for p in manifest.plates if p.layout_source == "eln"}
    seen: set[str] = set()
    for path in manifest.eln_files:
        export = read_eln_table(path.read_bytes(), path.name)
        for layout in export.layouts:
            if len(layout.wells) != manifest.plate_format:
                raise DataQualityError(f"{path}: plate {layout.plate_id} has {len(layout.wells)} wells in the ELN")
            seen.add(layout.plate_id)
    for path in manifest.layout_files:
        layout = read_plate_map_csv(path.read_bytes(), path.name)
        if layout.plate_id != path.stem or len(layout.wells) != manifest.plate_format:
            raise DataQualityError(f"{path}: plate map read as {layout.plate_id} with {len(layout.wells)} wells")
    if seen != eln_plates:
        raise DataQualityError(f"ELN exports describe {len(seen)} plates, expected {len(eln_plates)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="landing folder to write")
    parser.add_argument("--plates", type=int, default=40)
    parser.add_argument("--format", dest="plate_format", type=int, default=384, choices=(96, 384, 1536))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-check", action="store_true", help="skip parsing every file back")
    args = parser.parse_args()
    manifest = generate(args.out, args.plates, plate_format=args.plate_format, seed=args.seed)
    if not args.no_check:
        check(manifest)
    print(
        f"{len(manifest.plates)} plates, {manifest.wells} wells, {manifest.readings} readings, "
        f"{len(manifest.eln_files)} ELN exports, {len(manifest.layout_files)} plate maps, "
        f"{manifest.bytes / 1e6:.1f} MB in {manifest.landing}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
