"""Per-table write locks: one writer at a time per Delta table, across threads, processes and machines.

Delta Lake commits optimistically: a writer writes ``_delta_log/<N>.json`` only if no one else did. On a local
file system that "only if" is an atomic rename; on S3 it is not (Delta's default S3 log store is safe for one
writer only), so two Glue jobs committing to one table at the same moment can both write version N and one
commit is silently lost. lab_etl therefore holds a lock around every Delta write it makes
(:mod:`lab_etl.lakehouse.delta`), chosen from where the table lives:

==============================  ==========================================================================
table location                  protection
==============================  ==========================================================================
a local folder (``file:``)      :func:`file_lock`: ``fcntl.flock`` on ``<warehouse>/_locks/<db>.<table>.lock``;
                                the kernel drops it when the holder dies, so a SIGKILLed holder never blocks
``s3://`` / ``s3a://``          :class:`DynamoDBLeaseLock`: a lease in a DynamoDB table taken with a
                                conditional ``PutItem``, renewed by a thread, with a fencing token and
                                self-fencing; a SIGKILLed holder's lease runs out and is taken over
``s3`` with Delta's             nothing more: ``S3DynamoDBLogStore`` makes the commit itself a put-if-absent
S3DynamoDBLogStore configured   in DynamoDB, which is the multi-writer guarantee Delta documents
==============================  ==========================================================================

Settings (environment first, then the Spark session's configuration, then the default):

==================================  =======================================  ==============================
environment                         Spark conf                               default
==================================  =======================================  ==============================
``LAB_ETL_WRITE_LOCK`` (auto/off)   ``spark.lab_etl.lock.mode``              ``auto``
``LAB_ETL_LOCK_TABLE``              ``spark.lab_etl.lock.table``             ``lab_etl_delta_locks``
``LAB_ETL_LOCK_ENDPOINT``           ``spark.lab_etl.lock.endpoint``          AWS (the ``--s3-endpoint`` locally)
``LAB_ETL_LOCK_REGION``             ``spark.lab_etl.lock.region``            boto3's (``AWS_REGION`` …)
``LAB_ETL_LOCK_LEASE_S``            ``spark.lab_etl.lock.lease_s``           ``60``
``LAB_ETL_LOCK_WAIT_S``             ``spark.lab_etl.lock.wait_s``            ``3600``
==================================  =======================================  ==============================

``off`` exists to show what happens without protection (``RELIABILITY.md``); never use it on a shared warehouse.

Examples
--------
>>> with table_write_lock(spark, "lab_bronze.instrument_readings") as held:   # doctest: +SKIP
...     held.check()          # raises LeaseLost when the lease ran out
...     df.write.format("delta").mode("append").saveAsTable("lab_bronze.instrument_readings")
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from lab_etl.errors import ConfigError, LabEtlError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

DEFAULT_LOCK_TABLE = "lab_etl_delta_locks"
DEFAULT_LEASE_S = 60.0
DEFAULT_WAIT_S = 3600.0
#: The class Delta's multi-cluster S3 log store is configured with (``spark.delta.logStore.<scheme>.impl``).
S3_DYNAMODB_LOG_STORE = "io.delta.storage.S3DynamoDBLogStore"

#: What protects concurrent writers of a table (what ``lab-etl doctor`` reports).
NONE, FILE_LOCK, DYNAMODB_LEASE, LOG_STORE = "none", "file lock", "DynamoDB lease lock", "S3DynamoDBLogStore"

_SETTINGS = {
    "mode": ("LAB_ETL_WRITE_LOCK", "spark.lab_etl.lock.mode", "auto"),
    "table": ("LAB_ETL_LOCK_TABLE", "spark.lab_etl.lock.table", DEFAULT_LOCK_TABLE),
    "endpoint": ("LAB_ETL_LOCK_ENDPOINT", "spark.lab_etl.lock.endpoint", ""),
    "region": ("LAB_ETL_LOCK_REGION", "spark.lab_etl.lock.region", ""),
    "lease_s": ("LAB_ETL_LOCK_LEASE_S", "spark.lab_etl.lock.lease_s", str(DEFAULT_LEASE_S)),
    "wait_s": ("LAB_ETL_LOCK_WAIT_S", "spark.lab_etl.lock.wait_s", str(DEFAULT_WAIT_S)),
}
#: The Spark conf key the CLI sets from ``--s3-endpoint`` (moto serves S3 and DynamoDB on one port).
ENDPOINT_CONF = _SETTINGS["endpoint"][1]
_S3_SCHEMES = ("s3", "s3a", "s3n")


class LockError(LabEtlError):
    """A write lock could not be taken (timed out, or its DynamoDB table is missing or unreachable)."""


class LeaseLost(LockError):
    """The holder's lease ran out or was taken over: the write must not commit (self-fencing)."""


@dataclass(frozen=True)
class LockSettings:
    """Where and how long: resolved from the environment and the session (see the module docstring)."""

    mode: str = "auto"
    table: str = DEFAULT_LOCK_TABLE
    endpoint: str | None = None
    region: str | None = None
    lease_s: float = DEFAULT_LEASE_S
    wait_s: float = DEFAULT_WAIT_S

    @classmethod
    def resolve(cls, spark: SparkSession | None = None) -> LockSettings:
        """Each setting from the environment, else ``spark``'s configuration, else its default.

        Raises
        ------
        ConfigError
            An unknown mode or a lease / wait that is not a positive number.
        """
        values: dict[str, str] = {}
        for name, (env, conf, default) in _SETTINGS.items():
            value = os.environ.get(env)
            if value is None and spark is not None:
                value = spark.conf.get(conf, None)
            values[name] = value if value not in (None, "") else default
        mode = values["mode"].strip().lower()
        if mode not in ("auto", "off"):
            raise ConfigError(f"LAB_ETL_WRITE_LOCK={values['mode']!r}: use auto (the default) or off")
        try:
            lease_s, wait_s = float(values["lease_s"]), float(values["wait_s"])
        except ValueError:
            raise ConfigError(
                f"LAB_ETL_LOCK_LEASE_S={values['lease_s']!r} / LAB_ETL_LOCK_WAIT_S={values['wait_s']!r}: "
                "seconds, as numbers"
            ) from None
        if lease_s <= 0 or wait_s <= 0:
            raise ConfigError(f"lock lease ({lease_s} s) and wait ({wait_s} s) must be positive")
        return cls(mode, values["table"], values["endpoint"] or None, values["region"] or None, lease_s, wait_s)


def protection_for(location: str, settings: LockSettings, log_store_impl: str | None = None) -> str:
    """Which protection guards concurrent writers of a table stored at ``location``.

    Parameters
    ----------
    location:
        The table's or its database's location: a path, ``file:/...``, ``s3://...`` or ``s3a://...``.
    settings:
        The lock settings (``mode == "off"`` gives ``"none"``).
    log_store_impl:
        Spark's ``spark.delta.logStore.<scheme>.impl`` for the location's scheme, if set.

    Examples
    --------
    >>> protection_for("/data/warehouse/lab_bronze.db", LockSettings())
    'file lock'
    >>> protection_for("s3a://lake/warehouse/lab_bronze.db", LockSettings())
    'DynamoDB lease lock'
    >>> protection_for("s3://lake/warehouse/lab_bronze.db", LockSettings(), S3_DYNAMODB_LOG_STORE)
    'S3DynamoDBLogStore'
    >>> protection_for("s3://lake/warehouse/lab_bronze.db", LockSettings(mode="off"))
    'none'
    """
    if settings.mode == "off":
        return NONE
    scheme = urlparse(location).scheme
    if scheme in _S3_SCHEMES:
        return LOG_STORE if log_store_impl == S3_DYNAMODB_LOG_STORE else DYNAMODB_LEASE
    if scheme in ("", "file"):
        return FILE_LOCK
    return NONE


def lock_key(location: str, table: str) -> str:
    """The name of a table's lock: its location with ``s3a``/``s3n`` written ``s3``, so that a Glue job
    (``s3://``) and the local CLI (``s3a://``) writing one table take one lock.

    Examples
    --------
    >>> lock_key("s3a://lake/warehouse/lab_bronze.db/", "instrument_readings")
    's3://lake/warehouse/lab_bronze.db/instrument_readings'
    """
    parsed = urlparse(location)
    if parsed.scheme in _S3_SCHEMES:
        location = "s3://" + location.split("://", 1)[1]
    return f"{location.rstrip('/')}/{table}"


# --------------------------------------------------------------------------------------------- local file lock
@contextmanager
def file_lock(path: Path, *, wait_s: float = DEFAULT_WAIT_S, poll_s: float = 0.2) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created with its folder when missing) for the ``with`` block.

    The lock belongs to the open file, so the kernel releases it when the holder exits or is killed, even with
    SIGKILL; there is nothing to expire or clean up. Two threads of one process exclude each other too (each
    opens the file itself). The holder's pid is written into the file for the "waiting for" message.

    Raises
    ------
    LockError
        Not acquired within ``wait_s`` seconds (the message names the holder's pid).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    with open(path, "a+", encoding="utf-8") as handle:
        waiting = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(path)
                if time.monotonic() > deadline:
                    raise LockError(
                        f"{path}: held by {holder} for more than {wait_s:.0f} s; another lab_etl process writes "
                        "this table (wait for it, or raise LAB_ETL_LOCK_WAIT_S)"
                    ) from None
                if not waiting:
                    log.info("waiting for the write lock %s (held by %s)", path, holder)
                    waiting = True
                time.sleep(poll_s)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} thread {threading.get_ident()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "another process"
    except OSError:
        return "another process"


# ------------------------------------------------------------------------------------------ DynamoDB lease lock
def ensure_lock_table(dynamodb: Any, table: str) -> None:
    """Create the lock table when missing: key ``lock_key`` (string), on-demand billing, TTL on ``ttl_epoch_s``.

    Safe when several processes call it at once. On AWS the table comes from the workflow's CloudFormation and
    the job role may not create tables: then a missing table is a :class:`LockError` naming it.
    """
    from botocore.exceptions import ClientError

    try:
        dynamodb.describe_table(TableName=table)
        return
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise LockError(f"DynamoDB lock table {table}: {_code(exc)}: {exc}") from exc
    try:
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "lock_key", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lock_key", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if _code(exc) == "AccessDeniedException":
            raise LockError(
                f"DynamoDB lock table {table} does not exist and this role may not create it; deploy the "
                "workflow's stack (it renders the table) or set LAB_ETL_LOCK_TABLE"
            ) from exc
        if _code(exc) != "ResourceInUseException":  # another process is creating it
            raise LockError(f"cannot create DynamoDB lock table {table}: {exc}") from exc
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    try:
        dynamodb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl_epoch_s"}
        )
    except ClientError as exc:
        log.info("TTL of %s left as it is: %s", table, exc)


class DynamoDBLeaseLock:
    """A lease on one key of a DynamoDB table: at most one holder at a time, across processes and machines.

    - **Acquire**: a conditional ``PutItem`` that succeeds only when no item exists for the key, or when the
      item's record version (``rvn``, a fresh UUID on every renewal) has not changed for a whole lease, measured
      by the acquirer's own monotonic clock, so no clocks are compared between machines.
    - **Renewal**: a thread rewrites ``rvn`` every ``lease_s / 3`` seconds, on condition that the item is still
      this holder's (owner and token).
    - **Fencing token**: every acquisition gets a number from an atomic counter item (``<key>#fence``), higher
      than any earlier holder's, kept after release; it is logged with each write.
    - **Self-fencing**: :meth:`check` raises :class:`LeaseLost` once the renewal was refused (someone took the
      key) or ``lease_s - margin_s`` seconds passed since the last renewal sent that succeeded; ``on_lost`` is
      called then too (e.g. to cancel the Spark jobs of the write).
    - **Release**: ``DeleteItem`` on condition that the token is still this holder's.
    - **SIGKILL**: nothing is released; the item stops being renewed and the next acquirer takes it over
      after one lease. The item's ``ttl_epoch_s`` lets DynamoDB remove abandoned items of dropped tables.

    Examples
    --------
    >>> key = "s3://lake/warehouse/lab_bronze.db/instrument_readings"
    >>> with DynamoDBLeaseLock(dynamodb, "lab_etl_delta_locks", key) as lock:  # doctest: +SKIP
    ...     lock.check()
    ...     write()
    """

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        key: str,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        margin_s: float | None = None,
        wait_s: float = DEFAULT_WAIT_S,
        poll_s: float | None = None,
        on_lost: Callable[[], None] | None = None,
        owner: str | None = None,
    ) -> None:
        self.dynamodb, self.table, self.key = dynamodb, table, key
        self.lease_s = lease_s
        self.margin_s = lease_s / 4 if margin_s is None else margin_s
        self.wait_s = wait_s
        self.poll_s = min(1.0, lease_s / 10) if poll_s is None else poll_s
        self.on_lost = on_lost
        self.owner = owner or f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.token: int | None = None
        self._rvn = ""
        self._renewed_at = 0.0  # monotonic time the last successful renewal (or the acquiring put) was sent
        self._lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # -- acquire -------------------------------------------------------------------------------------------
    def acquire(self) -> int:
        """Wait for the key, take it, start renewing; return the fencing token.

        Raises
        ------
        LockError
            Not acquired within ``wait_s`` seconds (the message names the holder).
        """
        from botocore.exceptions import ClientError

        deadline = time.monotonic() + self.wait_s
        seen: tuple[str, float] | None = None  # the holder's rvn and when this process first saw it
        while True:
            item = self._get()
            now = time.monotonic()
            if item is None:
                condition, values = "attribute_not_exists(lock_key)", {}
            else:
                rvn = item["rvn"]["S"]
                if seen is None or seen[0] != rvn:
                    if seen is None:
                        log.info(
                            "waiting for %s: held by %s (token %s)", self.key, item["owner"]["S"], item["token"]["N"]
                        )
                    seen = (rvn, now)
                if now - seen[1] < float(item["lease_s"]["N"]):
                    if now > deadline:
                        raise LockError(
                            f"write lock {self.key} in DynamoDB table {self.table}: held by {item['owner']['S']} "
                            f"(token {item['token']['N']}) for more than {self.wait_s:.0f} s; raise "
                            "LAB_ETL_LOCK_WAIT_S to wait longer"
                        )
                    time.sleep(self.poll_s)
                    continue
                log.warning(
                    "write lock %s: the lease of %s (token %s) ran out without renewal; taking it over",
                    self.key,
                    item["owner"]["S"],
                    item["token"]["N"],
                )
                condition, values = "rvn = :seen", {":seen": {"S": rvn}}
            token = self._next_token()
            rvn = uuid.uuid4().hex
            sent = time.monotonic()
            try:
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item=self._item(token, rvn),
                    ConditionExpression=condition,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise LockError(f"write lock {self.key}: DynamoDB PutItem failed: {exc}") from exc
                seen = None  # someone else was quicker: look again
                continue
            self.token, self._rvn, self._renewed_at, self._lost = token, rvn, sent, None
            self._stop.clear()
            self._renewer = threading.Thread(target=self._renew_loop, name=f"lease-renewal {self.key}", daemon=True)
            self._renewer.start()
            log.info("write lock %s taken with token %d", self.key, token)
            return token

    # -- hold ----------------------------------------------------------------------------------------------
    def valid_for(self) -> float:
        """Seconds the lease is still good for by this holder's clock, minus the safety margin (<= 0: lost)."""
        if self._lost is not None or self.token is None:
            return 0.0
        return self._renewed_at + self.lease_s - self.margin_s - time.monotonic()

    def check(self) -> None:
        """Self-fencing: raise :class:`LeaseLost` unless this holder's lease is still valid with the margin."""
        if self.token is None:
            raise LeaseLost(f"write lock {self.key}: not held")
        if self._lost is None and self.valid_for() <= 0:
            self._mark_lost(f"no renewal succeeded for {time.monotonic() - self._renewed_at:.1f} s")
        if self._lost is not None:
            raise LeaseLost(
                f"write lock {self.key} (token {self.token}) was lost: {self._lost}; the write was stopped so that "
                "it cannot overwrite another writer's commit. Run again: lab_etl's writes are idempotent"
            )

    def _renew_loop(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        interval = self.lease_s / 3
        while not self._stop.wait(interval):
            rvn = uuid.uuid4().hex
            sent = time.monotonic()
            try:
                self.dynamodb.update_item(
                    TableName=self.table,
                    Key={"lock_key": {"S": self.key}},
                    UpdateExpression="SET rvn = :rvn, ttl_epoch_s = :ttl",
                    ConditionExpression="#owner = :owner AND #token = :token",
                    ExpressionAttributeNames={"#owner": "owner", "#token": "token"},
                    ExpressionAttributeValues={
                        ":rvn": {"S": rvn},
                        ":ttl": {"N": str(self._ttl())},
                        ":owner": {"S": self.owner},
                        ":token": {"N": str(self.token)},
                    },
                )
            except ClientError as exc:
                if _code(exc) == "ConditionalCheckFailedException":
                    self._mark_lost("another writer took the lock over")
                    return
                log.warning("write lock %s: renewal failed (%s); retrying", self.key, exc)
            except BotoCoreError as exc:
                log.warning("write lock %s: renewal failed (%s); retrying", self.key, exc)
            else:
                self._rvn, self._renewed_at = rvn, sent
            if self.valid_for() <= 0:
                self._mark_lost(f"no renewal succeeded for {time.monotonic() - self._renewed_at:.1f} s")
                return

    def _mark_lost(self, why: str) -> None:
        if self._lost is not None:
            return
        self._lost = why
        log.error("write lock %s (token %s) lost: %s", self.key, self.token, why)
        if self.on_lost is not None:
            try:
                self.on_lost()
            except Exception:  # the loss is recorded; check() refuses the commit either way
                log.exception("write lock %s: the on_lost callback failed", self.key)

    # -- release -------------------------------------------------------------------------------------------
    def stop_renewal(self) -> None:
        """Stop the renewal thread (release does it; tests use it to let a lease run out)."""
        self._stop.set()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(timeout=self.lease_s)
        self._renewer = None

    def release(self) -> None:
        """Stop renewing and delete the item if it still carries this holder's token."""
        from botocore.exceptions import ClientError

        self.stop_renewal()
        if self.token is None:
            return
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key={"lock_key": {"S": self.key}},
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"N": str(self.token)}},
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise LockError(f"write lock {self.key}: release failed: {exc}") from exc
            log.warning("write lock %s: token %s was no longer the holder at release", self.key, self.token)
        finally:
            self.token = None

    def __enter__(self) -> DynamoDBLeaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    # -- items ---------------------------------------------------------------------------------------------
    def _get(self) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            answer = self.dynamodb.get_item(
                TableName=self.table, Key={"lock_key": {"S": self.key}}, ConsistentRead=True
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                raise LockError(
                    f"DynamoDB lock table {self.table} does not exist; deploy the workflow's stack or create it "
                    "with lab_etl.lakehouse.locks.ensure_lock_table"
                ) from exc
            raise LockError(f"write lock {self.key}: DynamoDB GetItem failed: {exc}") from exc
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def _next_token(self) -> int:
        answer = self.dynamodb.update_item(
            TableName=self.table,
            Key={"lock_key": {"S": f"{self.key}#fence"}},
            UpdateExpression="ADD #token :one",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["token"]["N"])

    def _item(self, token: int, rvn: str) -> dict[str, Any]:
        return {
            "lock_key": {"S": self.key},
            "owner": {"S": self.owner},
            "token": {"N": str(token)},
            "rvn": {"S": rvn},
            "lease_s": {"N": repr(self.lease_s)},
            "ttl_epoch_s": {"N": str(self._ttl())},
        }

    def _ttl(self) -> int:
        # Only garbage collection of abandoned keys: far beyond any lease, pushed forward by every renewal.
        return int(time.time() + self.lease_s + 24 * 3600)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


# --------------------------------------------------------------------------------------- the lock of a table
@dataclass
class HeldLock:
    """What a write holds: the protection in force, the lock's name, and for a lease its token and check."""

    protection: str
    key: str
    lease: DynamoDBLeaseLock | None = None

    @property
    def token(self) -> int | None:
        return self.lease.token if self.lease is not None else None

    def check(self) -> None:
        """Self-fencing before a commit: raise :class:`LeaseLost` when a lease is no longer valid."""
        if self.lease is not None:
            self.lease.check()


_held = threading.local()


def table_protection(spark: SparkSession, qualified_name: str) -> tuple[str, str]:
    """The protection of a table's writes and the table's database location (``lab_bronze.readings`` ->
    (``"file lock"``, ``"file:/…/warehouse/lab_bronze.db"``))."""
    database, _, _ = qualified_name.partition(".")
    location = str(spark.catalog.getDatabase(database).locationUri)
    scheme = urlparse(location).scheme or "file"
    impl = spark.conf.get(f"spark.delta.logStore.{scheme}.impl", None)
    return protection_for(location, LockSettings.resolve(spark), impl), location


@contextmanager
def table_write_lock(spark: SparkSession, qualified_name: str) -> Iterator[HeldLock]:
    """Hold the write lock of table ``qualified_name`` (``db.table``) for the ``with`` block.

    Re-entrant within a thread (a nested call for the same table holds nothing more). For a DynamoDB lease the
    block's Spark jobs run in their own job group, cancelled if the lease is lost mid-write, and the block
    ends with a self-fencing check that raises :class:`LeaseLost` (the write may then overlap another writer's
    commit, so the run must fail and be run again).
    """
    protection, location = table_protection(spark, qualified_name)
    table = qualified_name.partition(".")[2]
    key = lock_key(location, table)
    held_keys: set[str] = getattr(_held, "keys", set())
    _held.keys = held_keys
    if protection in (NONE, LOG_STORE) or key in held_keys:
        yield HeldLock(protection, key)
        return
    held_keys.add(key)
    try:
        if protection == FILE_LOCK:
            warehouse = Path(unquote(urlparse(location).path)).parent  # a URI: "my%20lab" is "my lab"
            database = qualified_name.partition(".")[0]
            settings = LockSettings.resolve(spark)
            with file_lock(warehouse / "_locks" / f"{database}.{table}.lock", wait_s=settings.wait_s):
                yield HeldLock(protection, key)
        else:
            with _lease_on(spark, key) as held:
                yield held
    finally:
        held_keys.discard(key)


@contextmanager
def _lease_on(spark: SparkSession, key: str) -> Iterator[HeldLock]:
    from lab_etl.aws import aws_client

    settings = LockSettings.resolve(spark)
    dynamodb = aws_client("dynamodb", settings.endpoint, settings.region)
    if settings.endpoint:  # a local endpoint (moto): make the table like the CloudFormation stack would
        ensure_lock_table(dynamodb, settings.table)
    context = spark.sparkContext
    group = f"lab_etl-write-{uuid.uuid4().hex[:12]}"
    lease = DynamoDBLeaseLock(
        dynamodb,
        settings.table,
        key,
        lease_s=settings.lease_s,
        wait_s=settings.wait_s,
        on_lost=lambda: context.cancelJobGroup(group),
    )
    lease.acquire()
    context.setJobGroup(group, f"lab_etl write under {key} token {lease.token}", interruptOnCancel=True)
    try:
        held = HeldLock(DYNAMODB_LEASE, key, lease)
        held.check()
        yield held
        held.check()
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
        lease.release()
