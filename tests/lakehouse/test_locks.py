"""The write locks without Spark: the DynamoDB lease lock against the moto server, the file lock on a folder.

Leases are 2 s here so that expiry tests stay fast; the logic does not depend on the length.
"""

from __future__ import annotations

import doctest
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from lab_etl.errors import ConfigError
from lab_etl.lakehouse import locks
from lab_etl.lakehouse.locks import DynamoDBLeaseLock, LeaseLost, LockError, ensure_lock_table, file_lock

LEASE_S = 2.0
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dynamodb(moto_server: str) -> Any:
    from lab_etl.aws import aws_client

    client = aws_client("dynamodb", moto_server, "us-east-1")
    ensure_lock_table(client, "locks_test")
    return client


def _key() -> str:
    return f"s3://lake/warehouse/lab_bronze.db/t_{uuid.uuid4().hex[:8]}"


def _lease(dynamodb: Any, key: str, **kwargs: Any) -> DynamoDBLeaseLock:
    kwargs.setdefault("lease_s", LEASE_S)
    kwargs.setdefault("poll_s", 0.05)
    return DynamoDBLeaseLock(dynamodb, "locks_test", key, **kwargs)


def _overlaps(intervals: list[tuple[float, float]]) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    ordered = sorted(intervals)
    return [(a, b) for a, b in itertools.pairwise(ordered) if b[0] < a[1]]


def test_docstring_examples() -> None:
    result = doctest.testmod(locks, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 5


def test_lock_table_is_on_demand_with_ttl(dynamodb: Any) -> None:
    ensure_lock_table(dynamodb, "locks_test")  # a second call is harmless
    table = dynamodb.describe_table(TableName="locks_test")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "lock_key", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName="locks_test")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl_epoch_s")


def test_lease_excludes_threads_and_tokens_increase(dynamodb: Any) -> None:
    key = _key()
    intervals: list[tuple[float, float]] = []
    tokens: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(2):
                with _lease(dynamodb, key) as lease:
                    start = time.monotonic()
                    tokens.append(lease.token or 0)
                    time.sleep(0.1)
                    lease.check()
                    intervals.append((start, time.monotonic()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(intervals) == 8
    assert _overlaps(intervals) == []
    assert len(set(tokens)) == 8 and min(tokens) >= 1
    # released: the item is gone, the fencing counter stays
    item = dynamodb.get_item(TableName="locks_test", Key={"lock_key": {"S": key}}, ConsistentRead=True)
    assert "Item" not in item
    with _lease(dynamodb, key) as lease:
        assert lease.token is not None and lease.token > max(tokens)


_CHILD = """
import sys, time
from lab_etl.aws import aws_client
from lab_etl.lakehouse.locks import DynamoDBLeaseLock
endpoint, key, lease_s, hold_s, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
lock = DynamoDBLeaseLock(aws_client("dynamodb", endpoint, "us-east-1"), "locks_test", key, lease_s=lease_s, poll_s=0.05)
token = lock.acquire()
start = time.time()
print(token, flush=True)
time.sleep(hold_s)
lock.check()
with open(out, "a") as f:
    f.write(f"{start} {time.time()} {token}\\n")
lock.release()
"""


def _child(moto_server: str, key: str, hold_s: float, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, moto_server, key, str(LEASE_S), str(hold_s), str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_lease_excludes_processes(moto_server: str, dynamodb: Any, tmp_path: Path) -> None:
    key, out = _key(), tmp_path / "held.txt"
    children = [_child(moto_server, key, 0.5, out) for _ in range(3)]
    for child in children:
        assert child.wait(60) == 0
    rows = [line.split() for line in out.read_text().splitlines()]
    assert len(rows) == 3
    assert _overlaps([(float(a), float(b)) for a, b, _ in rows]) == []
    assert len({token for _, _, token in rows}) == 3


def test_sigkilled_holder_is_taken_over_after_one_lease_with_a_higher_token(
    moto_server: str, dynamodb: Any, tmp_path: Path
) -> None:
    key = _key()
    child = _child(moto_server, key, 600, tmp_path / "never.txt")
    assert child.stdout is not None
    killed_token = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    killed_at = time.monotonic()
    with _lease(dynamodb, key, wait_s=30) as lease:
        waited = time.monotonic() - killed_at
        assert lease.token is not None and lease.token > killed_token
        lease.check()
    # the acquirer waited out (about) one whole lease of the dead holder, not less
    assert LEASE_S * 0.9 <= waited < LEASE_S + 5


def test_renewal_keeps_a_long_holders_lease(dynamodb: Any) -> None:
    key = _key()
    with _lease(dynamodb, key) as holder:
        time.sleep(LEASE_S * 2.5)  # far past one lease: only the renewals keep it
        holder.check()
        rival = _lease(dynamodb, key, wait_s=LEASE_S * 1.5)
        with pytest.raises(LockError, match=r"held by .* for more than"):
            rival.acquire()
        holder.check()
        assert holder.valid_for() > 0


def test_self_fencing_refuses_the_commit_after_a_lost_lease(dynamodb: Any) -> None:
    key = _key()
    lost: list[bool] = []
    holder = _lease(dynamodb, key, on_lost=lambda: lost.append(True))
    holder.acquire()
    first = holder.token
    holder.stop_renewal()  # as if DynamoDB became unreachable for this holder (a network partition, a long GC)
    time.sleep(LEASE_S - holder.margin_s + 0.1)
    with pytest.raises(LeaseLost, match="no renewal succeeded"):
        holder.check()
    assert lost == [True]
    # the holder stops writing before anyone else may start: a rival gets the lock only after the full lease
    with _lease(dynamodb, key, wait_s=30) as rival:
        assert rival.token is not None and first is not None and rival.token > first
        holder.release()  # the stale holder's release must not free the rival's lock
        item = dynamodb.get_item(TableName="locks_test", Key={"lock_key": {"S": key}}, ConsistentRead=True)
        assert item["Item"]["token"]["N"] == str(rival.token)
        rival.check()


def test_a_holder_whose_lock_was_taken_over_learns_it_at_renewal(dynamodb: Any) -> None:
    key = _key()
    holder = _lease(dynamodb, key, margin_s=0.0)
    holder.acquire()
    # someone deletes and retakes the item behind the holder's back (an operator, or a clock gone wrong)
    dynamodb.delete_item(TableName="locks_test", Key={"lock_key": {"S": key}})
    intruder = _lease(dynamodb, key)
    intruder.acquire()
    time.sleep(LEASE_S / 3 + 0.5)  # the holder's next renewal is refused
    with pytest.raises(LeaseLost, match="another writer took the lock over"):
        holder.check()
    intruder.release()
    holder.release()


def test_missing_table_is_a_clear_error(dynamodb: Any) -> None:
    lease = DynamoDBLeaseLock(dynamodb, "no_such_lock_table", _key(), lease_s=LEASE_S)
    with pytest.raises(LockError, match="no_such_lock_table does not exist"):
        lease.acquire()


# ------------------------------------------------------------------------------------------------- file lock
def test_file_lock_excludes_threads(tmp_path: Path) -> None:
    path = tmp_path / "_locks" / "lab_bronze.t.lock"
    intervals: list[tuple[float, float]] = []

    def writer() -> None:
        for _ in range(3):
            with file_lock(path):
                start = time.monotonic()
                time.sleep(0.05)
                intervals.append((start, time.monotonic()))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(intervals) == 12
    assert _overlaps(intervals) == []


_FILE_CHILD = """
import sys, time
from pathlib import Path
from lab_etl.lakehouse.locks import file_lock
with file_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def test_file_lock_of_a_sigkilled_holder_is_free_at_once(tmp_path: Path) -> None:
    path = tmp_path / "_locks" / "lab_bronze.t.lock"
    child = subprocess.Popen(
        [sys.executable, "-c", _FILE_CHILD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    with pytest.raises(LockError, match=f"held by pid {child.pid}"):
        with file_lock(path, wait_s=0.3):
            pass
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    start = time.monotonic()
    with file_lock(path, wait_s=5):
        assert time.monotonic() - start < 1.0


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_ETL_WRITE_LOCK", "off")
    monkeypatch.setenv("LAB_ETL_LOCK_TABLE", "other_locks")
    monkeypatch.setenv("LAB_ETL_LOCK_LEASE_S", "5")
    settings = locks.LockSettings.resolve()
    assert (settings.mode, settings.table, settings.lease_s) == ("off", "other_locks", 5.0)
    monkeypatch.setenv("LAB_ETL_WRITE_LOCK", "sometimes")
    with pytest.raises(ConfigError, match=r"use auto .* or off"):
        locks.LockSettings.resolve()


# ------------------------------------------------------------------------------------------ lab-etl doctor
def test_doctor_says_which_protection_is_active(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lab_etl.doctor import write_protection_check

    for name in ("LAB_ETL_WRITE_LOCK", "LAB_ETL_LOCK_ENDPOINT", "LAB_ETL_LOCK_TABLE"):
        monkeypatch.delenv(name, raising=False)
    local = write_protection_check(str(tmp_path))
    assert (local.found, local.ok) == (f"file lock ({tmp_path}/_locks/<db>.<table>.lock)", True)

    lease = write_protection_check("s3a://lake/warehouse", moto_server)
    assert lease.ok, lease
    assert lease.found == f"DynamoDB lease lock (table lab_etl_delta_locks, lease 60 s, at {moto_server})"
    assert lease.found.startswith(locks.DYNAMODB_LEASE)

    on_aws = write_protection_check("s3://lake/warehouse")
    assert (on_aws.found, on_aws.ok) == ("DynamoDB lease lock (table lab_etl_delta_locks, lease 60 s)", True)

    log_store = write_protection_check("s3://lake/warehouse", log_store_impl=locks.S3_DYNAMODB_LOG_STORE)
    assert (log_store.found, log_store.ok) == ("S3DynamoDBLogStore", True)

    unreachable = write_protection_check("s3a://lake/warehouse", "http://127.0.0.1:9")
    assert not unreachable.ok and "unreachable" in unreachable.found

    monkeypatch.setenv("LAB_ETL_WRITE_LOCK", "off")
    off = write_protection_check("s3a://lake/warehouse", moto_server)
    assert (off.found, off.ok) == ("none (s3a://lake/warehouse)", False)
    assert "can lose a commit" in off.fix
