"""In-test components, a test plugin and a hand-written compiled manifest for the runner tests.

Importable as ``runner_testkit`` (the pytest ``pythonpath`` setting), so the driver references
``runner_testkit:Class`` resolve like a plugin's drivers do.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
from osiris import hookimpl
from osiris.components import Component
from osiris.errors import StepError
from osiris.families import ConnectionFamily
from osiris.plugins import get_plugin_manager
from osiris.registry import build_registry

MODULE = __name__
SECRET = "s3cr3t-Pa55word!"
BARRIERS: dict[str, threading.Barrier] = {}
"""Named barriers that drivers wait on: two steps reach them together only if they overlap."""
EVENTS: dict[str, threading.Event] = {}
"""Named events a driver waits for (set by a test's session listener)."""
SEEN: dict[str, Any] = {}
"""What drivers observed during a run, for assertions."""


def synthetic_batches(rows: int, batch_size: int, fail_at: int | None = None):
    """Batches of (id int64, amount float64, label string); nothing is built before it is pulled."""
    import pyarrow.compute as pc

    done = 0
    while done < rows:
        n = min(batch_size, rows - done)
        if fail_at is not None and done + n > fail_at:
            raise ValueError(f"synthetic source broke at row {fail_at}")
        ids = pa.array(range(done, done + n), pa.int64())
        yield pa.record_batch(
            [ids, pc.multiply(ids.cast(pa.float64()), 0.5), pc.cast(ids, pa.string())],
            names=["id", "amount", "label"],
        )
        done += n


SCHEMA = pa.schema([("id", pa.int64()), ("amount", pa.float64()), ("label", pa.string())])


class Synthetic:
    """Extractor: ``rows`` synthetic rows, lazily; ``fail_at`` breaks the stream mid-way."""

    def run(self, *, step_id, config, inputs, ctx):
        if config.get("barrier"):
            BARRIERS[config["barrier"]].wait()
        if config.get("wait_for"):
            assert EVENTS[config["wait_for"]].wait(timeout=20), "event never came"
        if config.get("fail"):
            raise RuntimeError(config["fail"])
        rows = int(config.get("rows", 10))

        def counted():
            total = 0
            try:
                for batch in synthetic_batches(
                    rows, int(config.get("batch_size", 1000)), config.get("fail_at")
                ):
                    total += batch.num_rows
                    yield batch
                ctx.log_metric("rows_read", total, unit="rows")
            finally:
                SEEN[step_id + ".closed"] = total  # a real extractor closes its connection here

        return {"df": pa.RecordBatchReader.from_batches(SCHEMA, counted())}


class TableSource:
    """Extractor returning a whole pyarrow Table (or a pandas DataFrame with ``pandas: true``)."""

    def run(self, *, step_id, config, inputs, ctx):
        table = pa.table({"id": [1, 2, 3], "name": ["a", "b", None]})
        ctx.log_metric("rows_read", table.num_rows, unit="rows")
        return {"df": table.to_pandas() if config.get("pandas") else table}


class PassThrough:
    """Transform: hands its single input on, lazily, batch by batch."""

    def run(self, *, step_id, config, inputs, ctx):
        (data,) = inputs.values()
        if config.get("barrier"):
            BARRIERS[config["barrier"]].wait()
        return {"df": data.reader()}


class Counter:
    """Writer: counts the rows of every input, writes the count as an artifact."""

    def run(self, *, step_id, config, inputs, ctx):
        if config.get("barrier"):
            BARRIERS[config["barrier"]].wait()
        if config.get("check_spill"):
            SEEN[step_id + ".spills"] = sorted(
                p.name for p in (ctx.artifacts_dir.parent.parent / "spill").glob("*.arrow")
            )
        if config.get("keep_inputs"):  # as a traceback kept for a report would
            SEEN[step_id + ".inputs"] = inputs
        total = 0
        names = sorted(inputs)
        for name in names:
            for batch in inputs[name].reader():
                total += batch.num_rows
                if config.get("fail_after") is not None and total > config["fail_after"]:
                    raise StepError(step_id, f"target refused row {total}.")
        SEEN[step_id] = {"rows": total, "inputs": names, "thread": threading.current_thread().name}
        (ctx.artifacts_dir / "count.txt").write_text(str(total))
        ctx.log_metric("rows_written", total, unit="rows")
        return {}


class Leaky:
    """Extractor that uses its connection and tries to leak the password everywhere."""

    def run(self, *, step_id, config, inputs, ctx):
        password = ctx.connection["password"]
        SEEN["connection"] = dict(ctx.connection)
        ctx.log_event("leaky_connect", dsn=f"leak://u:{password}@host/db", password=password)
        ctx.log_metric("rows_read", 1, unit="rows", note=password)
        (ctx.artifacts_dir / "debug.txt").write_text(f"connected with {password}\n")
        if config.get("fail"):
            raise RuntimeError(f"login failed for password {password}")
        return {"df": pa.table({"secret_len": [len(password)]})}


class IncrementalSource:
    """Extractor with ``incremental:`` over the in-memory table ``SEEN["inc.source"]``."""

    def run(self, *, step_id, config, inputs, ctx):
        import pyarrow.compute as pc
        from osiris.state.cursor import incremental_of

        incremental = incremental_of(step_id, config, ctx)
        table = pa.table(SEEN[config.get("source", "inc.source")])
        names = table.schema.names
        incremental.bind(table.schema.field(incremental.column) if incremental.column in names
                         else None)  # fmt: skip
        column = table[incremental.column]
        if incremental.lower is not None:
            bound = pa.scalar(incremental.lower, column.type)
            keep = (pc.greater if incremental.op == ">" else pc.greater_equal)(column, bound)
            table = table.filter(keep)
        table = table.sort_by(incremental.column)
        SEEN[step_id + ".handed"] = ctx.incremental
        incremental.start_event(ctx)
        batches = incremental.track(iter(table.to_batches(max_chunksize=2)), ctx)
        return {"df": pa.RecordBatchReader.from_batches(table.schema, batches)}


class KitFamily(ConnectionFamily):
    name = "kitdb"
    schema = {
        "type": "object",
        "required": ["host", "user", "password"],
        "properties": {
            "host": {"type": "string"},
            "user": {"type": "string"},
            "password": {"type": "string"},
            "default": {"type": "boolean"},
        },
    }
    secret_fields = ("password",)


def _spec(name: str, modes: list[str], driver: str) -> Component:
    spec = {
        "name": name,
        "version": "0.1.0",
        "modes": modes,
        "configSchema": {"type": "object"},
        "x-runtime": {"driver": f"{MODULE}:{driver}"},
    }
    return Component(name=name, spec=spec, driver=f"{MODULE}:{driver}")


COMPONENTS = {
    "kit.synthetic": (["extract"], "Synthetic"),
    "kit.table": (["extract"], "TableSource"),
    "kit.passthrough": (["transform"], "PassThrough"),
    "kit.counter": (["write"], "Counter"),
    "kit.leaky": (["extract"], "Leaky"),
    "kit.incremental": (["extract"], "IncrementalSource"),
}


@hookimpl
def register_components():
    return [_spec(name, modes, driver) for name, (modes, driver) in COMPONENTS.items()]


@hookimpl
def register_connection_families():
    return [KitFamily()]


def plugin_manager():
    """Core's default plugins plus this kit, no installed entry points: runs see only these."""
    import sys

    pm = get_plugin_manager(load_entry_points=False)
    pm.register_plugin(sys.modules[MODULE], MODULE, "osiris-runner-testkit", "0.1.0")
    return pm


def registry():
    return build_registry(plugin_manager())


def write_manifest(out: Path, steps: list[dict[str, Any]], name: str = "kit-pipeline") -> Path:
    """Write a compiled directory by hand, following the compiler's output contract."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "cfg").mkdir(exist_ok=True)
    import yaml

    entries = []
    for step in steps:
        config = step.get("config", {})
        (out / "cfg" / f"{step['id']}.json").write_text(
            json.dumps(config, sort_keys=True, indent=2) + "\n"
        )
        component = step["component"]
        entries.append(
            {
                "id": step["id"],
                "component": component,
                "mode": step.get("mode") or COMPONENTS.get(component, (["transform"], ""))[0][0],
                "driver": f"{MODULE}:{COMPONENTS.get(component, ([], 'X'))[1]}",
                "plugin": {"distribution": "osiris-runner-testkit", "version": "0.1.0"},
                "cfg_path": f"cfg/{step['id']}.json",
                "needs": step.get("needs", []),
                "connection": config.get("connection"),
            }
        )
    manifest = {
        "pipeline": {
            "name": name,
            "oml_version": "0.1.0",
            "source": None,
            "profile": None,
            "fingerprints": {},
        },
        "steps": entries,
    }
    path = out / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def chain(n: int, rows: int = 10) -> list[dict[str, Any]]:
    """extract → (n-2) pass-through transforms → counter: ``n`` steps in a line."""
    steps = [{"id": "s0", "component": "kit.synthetic", "config": {"rows": rows}}]
    for i in range(1, n - 1):
        steps.append({"id": f"s{i}", "component": "kit.passthrough", "needs": [f"s{i - 1}"]})
    steps.append({"id": f"s{n - 1}", "component": "kit.counter", "needs": [f"s{n - 2}"]})
    return steps
