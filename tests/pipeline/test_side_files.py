"""Large side files on the driver: a several-GB ChEMBL download is hashed in chunks and read in place (or from a
sparse temporary copy), never held whole in memory; a huge bad file is quarantined with a bounded head.

The large files are sparse (``os.truncate``): gigabytes long, a few KB on disk. The reading runs in a fresh
subprocess so that its peak resident memory (``ru_maxrss``) can be compared with the file sizes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.pipeline import landing
from lab_etl.pipeline.landing import LandingFile, SideFile, copy_to_temporary, discard
from lab_etl.pipeline.side_inputs import read_reference_file

GIB = 1024**3
DB_SIZE = 2 * GIB
BAD_SIZE = GIB // 2


def _chembl_extract(path: Path) -> None:
    """A small SQLite file with ChEMBL's real table and column names (a subset) and two real compounds."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE version (name VARCHAR(50) PRIMARY KEY, creation_date DATE, comments VARCHAR(2000));
        CREATE TABLE molecule_dictionary (
            molregno BIGINT PRIMARY KEY, pref_name VARCHAR(255), chembl_id VARCHAR(20) NOT NULL);
        CREATE TABLE compound_structures (
            molregno BIGINT PRIMARY KEY, standard_inchi_key VARCHAR(27) NOT NULL, canonical_smiles VARCHAR(4000));
        CREATE TABLE compound_properties (
            molregno BIGINT PRIMARY KEY, mw_freebase NUMERIC(9, 2), alogp NUMERIC(9, 2), hba INTEGER,
            hbd INTEGER, psa NUMERIC(9, 2), rtb INTEGER, aromatic_rings INTEGER);
        INSERT INTO version VALUES ('ChEMBL_33', '2023-05-31', 'ChEMBL Release 33');
        INSERT INTO molecule_dictionary VALUES (1280, 'ASPIRIN', 'CHEMBL25'), (2, NULL, 'CHEMBL35820');
        INSERT INTO compound_structures VALUES
            (1280, 'BSYNRYMUTXBXSQ-UHFFFAOYSA-N', 'CC(=O)Oc1ccccc1C(=O)O'),
            (2, 'YXOXHAUUTIOBDA-UHFFFAOYSA-N', 'CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC');
        INSERT INTO compound_properties VALUES (1280, 180.16, 1.31, 3, 1, 63.6, 2, 1);
        """
    )
    db.commit()
    db.close()


@pytest.fixture()
def reference(tmp_path: Path) -> Path:
    """``reference/chembl_33.db`` (a real SQLite extract padded to 2 GiB) and a 512 MiB file of zeros named as a
    SQLite download; both sparse."""
    folder = tmp_path / "reference"
    folder.mkdir()
    _chembl_extract(folder / "chembl_33.db")
    os.truncate(folder / "chembl_33.db", DB_SIZE)
    (folder / "chembl_33_broken.db").touch()
    os.truncate(folder / "chembl_33_broken.db", BAD_SIZE)
    for path in folder.iterdir():
        if path.stat().st_blocks * 512 > 16 * 1024 * 1024:
            pytest.skip(f"{tmp_path} does not keep files sparse")
    return folder


READ_IN_A_FRESH_PROCESS = """
import json, resource, sys
from datetime import UTC, datetime
from lab_etl.pipeline.landing import LandingFile, discard, read_side_file
from lab_etl.pipeline.side_inputs import parse_side_files, reader_for

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux

now = datetime.now(UTC)
entries = [LandingFile("file:" + path, size, now) for path, size in json.loads(sys.argv[1])]
import lab_etl.chem, sqlite3, hashlib  # the readers' imports, before the baseline
before = rss()
files = {e.path: read_side_file(None, e) for e in entries}
batch = parse_side_files(
    "chembl", entries, files, [e.path for e in entries], {}, reader_for("reference"), "run", now, len(entries)
)
discard(list(files.values()))
records = [record for _, found in batch.items for record in found]
print(json.dumps({
    "peak_growth": rss() - before,
    "digests": {path: side.sha256 for path, side in files.items()},
    "copies": [str(side.local_file) for side in files.values() if side.temporary],
    "records": sorted((r.chembl_id, r.source_file, r.chembl_release) for r in records),
    "outcomes": {path: [o.status, o.reason] for path, o in batch.outcomes.items()},
    "quarantine": [[row[1], row[3], len(row[5])] for row in batch.quarantine_rows],
}))
"""


def test_a_large_download_is_read_in_place_within_bounded_memory(reference: Path) -> None:
    db, bad = reference / "chembl_33.db", reference / "chembl_33_broken.db"
    files = [(str(db), DB_SIZE), (str(bad), BAD_SIZE)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_A_FRESH_PROCESS, json.dumps(files)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])

    # never more than the quarantine's bounded head and a few 8 MiB chunks, of 2.5 GiB read
    assert report["peak_growth"] < landing.QUARANTINE_CONTENT_BYTES + 96 * 1024 * 1024, report["peak_growth"]
    assert report["copies"] == []  # a local landing's file is read where it lies: no copy fills the disk
    assert report["records"] == [
        ["CHEMBL25", "chembl_33.db", "chembl_33"],
        ["CHEMBL35820", "chembl_33.db", "chembl_33"],
    ]
    db_path, bad_path = "file:" + str(db), "file:" + str(bad)
    assert report["digests"][bad_path] == _sha256(bad)  # hashed on the way, chunk by chunk
    assert report["outcomes"][db_path] == ["parsed", None]
    status, reason = report["outcomes"][bad_path]
    assert status == "quarantined" and "not a readable SQLite database" in reason
    head = landing.QUARANTINE_CONTENT_BYTES
    assert f"the file is {BAD_SIZE} bytes: the quarantine keeps its first {head}" in reason
    assert report["quarantine"] == [[bad_path, BAD_SIZE, head]]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def test_a_remote_large_file_is_copied_sparse_and_removed(tmp_path: Path) -> None:
    """The copy path of an ``s3a://`` side file (its chunks come from Hadoop there; from a local file here)."""
    db = tmp_path / "chembl_33.db"
    _chembl_extract(db)
    os.truncate(db, landing.SIDE_FILE_IN_MEMORY_BYTES + 1)

    def chunks() -> object:
        with db.open("rb") as handle:
            while chunk := handle.read(landing.CHUNK_BYTES):
                yield chunk

    digest = hashlib.sha256()
    copy = copy_to_temporary(chunks(), "chembl_33.db", digest)  # type: ignore[arg-type]
    try:
        assert copy.name == "chembl_33.db" and copy.stat().st_size == db.stat().st_size
        assert copy.stat().st_blocks * 512 < 16 * 1024 * 1024  # the zero runs stayed holes
        assert digest.hexdigest() == _sha256(db)
        entry = LandingFile("s3a://lab/landing/reference/chembl_33.db", db.stat().st_size, datetime.now(UTC))
        side = SideFile(entry, digest.hexdigest(), None, copy, temporary=True)
        records = read_reference_file(copy, entry.path)
        assert sorted((r.chembl_id, r.source_file) for r in records) == [
            ("CHEMBL25", "chembl_33.db"),
            ("CHEMBL35820", "chembl_33.db"),
        ]
        with pytest.raises(ParseError, match="only read by readers that stream"):
            side.read_bytes()
        assert side.head(16)[:6] == b"SQLite"
    finally:
        discard([SideFile(LandingFile("s3a://x", 0, datetime.now(UTC)), "", None, copy, temporary=True)])
    assert not copy.exists() and not copy.parent.exists()


def test_a_large_text_download_without_line_ends_is_refused_unread(tmp_path: Path) -> None:
    chemreps = tmp_path / "chembl_33_chemreps.txt"
    chemreps.touch()
    os.truncate(chemreps, GIB)
    with pytest.raises(ParseError, match="no line end in the first 1048576 bytes"):
        read_reference_file(chemreps, "s3a://lab/landing/reference/chembl_33_chemreps.txt")


def test_a_landing_file_is_never_removed_by_discard(reference: Path) -> None:
    db = reference / "chembl_33.db"
    entry = LandingFile("file:" + str(db), DB_SIZE, datetime.now(UTC))
    discard([SideFile(entry, "", None, db)])
    assert db.exists()
