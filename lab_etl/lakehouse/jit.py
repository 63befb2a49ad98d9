"""Quick start for short commands: the local driver JVM's optimizing compiler (C2) held back until there is data.

A JVM compiles hot code twice: first quickly (C1), then, for code that stays hot, with the optimizing compiler
(C2), whose compilations are long and run on the same two cores as the work. A command that reads a few Delta logs
and prints a count (``lab-etl sql``, ``report``, a ``run`` that finds nothing new) never earns that second
compilation back: on a 2-core machine C2's threads take up to half the CPU of such a command's first seconds.
A pipeline that parses and writes megabytes does earn it (held back for a whole 1,000-plate run, it costs a third
more time).

So a local command may start with C2 held back (``get_spark(..., quick_start=True)``, which calls :func:`hold`
as soon as the JVM is up, before the session is built): a HotSpot compiler directive, added through the JVM's own
``DiagnosticCommand`` management bean (what ``jcmd <pid> Compiler.directives_add`` calls), excludes
every method from C2, and the JVM compiles hot methods with C1 alone (as ``-XX:TieredStopAtLevel=1`` would).
A command that finds data to process removes that directive (:func:`release`): from then on hot methods go to C2
as usual. Methods that became hot while C2 was held stay compiled by C1, which is what a short command wants.

Nothing else changes: the same code runs, the same values come out (the JIT changes speed, never results).
It applies to local sessions only; on AWS Glue, and on a cluster's executors, the JVMs are not lab_etl's.
``LAB_ETL_QUICK_START=0`` turns it off.

Examples
--------
>>> spark = get_spark("warehouse", quick_start=True)  # doctest: +SKIP
>>> held(spark)                                       # doctest: +SKIP
True
>>> release(spark)                                    # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import os
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: Set to 0 (or "false") to keep C2 running from the start in every command.
ENV_SWITCH = "LAB_ETL_QUICK_START"

#: The directive that excludes every method from C2 (a package resource, so that the JVM can read it by path).
DIRECTIVE = files("lab_etl") / "resources" / "jit_hold_c2.json"

_BEAN = "com.sun.management:type=DiagnosticCommand"

#: The sessions (by their JVM gateway) whose directive is in place, so that release removes only lab_etl's own.
_held: set[int] = set()


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def hold(gateway: Any) -> bool:
    """Hold C2 back in the JVM behind a py4j ``gateway`` (``SparkContext._gateway``, before or after the session's
    creation); True when the directive was added (False when switched off, already held, or when this JVM has no
    such bean, e.g. not HotSpot). The caller makes sure that the JVM is a local driver's
    (:func:`lab_etl.lakehouse.spark.get_spark` with ``quick_start``)."""
    if not enabled() or id(gateway) in _held:
        return False
    try:
        _diagnostic(gateway, "compilerDirectivesAdd", _quoted(str(DIRECTIVE)))
    except Exception as exc:  # an optimisation only: a JVM without the bean runs as before
        log.debug("could not hold C2 back: %s", exc)
        return False
    _held.add(id(gateway))
    return True


def release(spark: SparkSession) -> bool:
    """Let C2 compile again (remove the directive :func:`hold` added); True when one was removed."""
    gateway = spark.sparkContext._gateway
    if id(gateway) not in _held:
        return False
    _held.discard(id(gateway))
    try:
        # directives form a stack: ours is the top one (added after the JVM's start, and lab_etl adds no other)
        _diagnostic(gateway, "compilerDirectivesRemove")
    except Exception as exc:
        log.debug("could not release C2: %s", exc)
        return False
    return True


def held(spark: SparkSession) -> bool:
    return id(spark.sparkContext._gateway) in _held


def _quoted(argument: str) -> str:
    """``argument`` quoted for the JVM's diagnostic-command parser, which splits its arguments at spaces (a
    virtualenv path may hold one) and takes a value in double or single quotes whole."""
    for quote in ('"', "'"):
        if quote not in argument:
            return f"{quote}{argument}{quote}"
    raise ValueError(f"a path with both kinds of quote cannot be passed to a diagnostic command: {argument!r}")


def _diagnostic(gateway: Any, operation: str, *arguments: str) -> Any:
    """Invoke one operation of the JVM's DiagnosticCommand bean (the operations behind ``jcmd``).

    The platform MBean server's class is not exported by its module, so the call goes through the public
    ``MBeanServer.invoke`` method.
    """
    jvm = gateway.jvm
    java_class = jvm.java.lang.Class
    types = gateway.new_array(java_class, 4)
    for i, name in enumerate(
        ("javax.management.ObjectName", "java.lang.String", "[Ljava.lang.Object;", "[Ljava.lang.String;")
    ):
        types[i] = java_class.forName(name)
    invoke = java_class.forName("javax.management.MBeanServer").getMethod("invoke", types)
    strings = gateway.new_array(jvm.java.lang.String, len(arguments))
    for i, argument in enumerate(arguments):
        strings[i] = argument
    params = gateway.new_array(jvm.java.lang.Object, 1)
    params[0] = strings
    signature = gateway.new_array(jvm.java.lang.String, 1)
    signature[0] = "[Ljava.lang.String;"
    call = gateway.new_array(jvm.java.lang.Object, 4)
    call[0] = jvm.javax.management.ObjectName(_BEAN)
    call[1] = operation
    call[2] = params
    call[3] = signature
    server = jvm.java.lang.management.ManagementFactory.getPlatformMBeanServer()
    return invoke.invoke(server, call)
