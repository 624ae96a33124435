"""The step executor shared by the local adapter and the e2b worker.

Steps start when their inputs are ready; independent branches run in a thread pool. Data moves
as Arrow streams: a single consumer pulls its producer's batches directly (the producer's work
happens while the consumer reads, so the producer completes when its stream is exhausted), an
output with several consumers is spilled once to an Arrow IPC stream file under the run
directory, and an output nobody needs is drained. A failure skips everything downstream of it;
other branches go on.
"""

from __future__ import annotations

import contextlib
import queue
import re
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from osiris.context import StepContext
from osiris.errors import OsirisError, StepError
from osiris.stepdata import StepData, as_reader, input_name

if TYPE_CHECKING:
    import pyarrow as pa

    from osiris.runner.context import ExecutionContext
    from osiris.runner.manifest import Manifest, StepSpec

TERMINAL = ("succeeded", "failed", "skipped")
ROW_METRICS = ("rows_read", "rows_written")
ROWS_VERIFIED = "rows_verified"
RUNNER_ROWS_OUT = "rows_out"


@dataclass
class StepOutcome:
    """How one step ended; ``rows`` is what it handed on, or what its driver wrote or read."""

    status: str = "pending"
    rows: int | None = None
    duration_ms: int | None = None
    error: str | None = None
    rows_verified: int | None = None
    """Rows a writer verified in the target (osiris.verify); None for other steps."""

    def as_dict(self) -> dict[str, Any]:
        out = {
            "status": self.status,
            "rows": self.rows,
            "duration_ms": self.duration_ms,
            "error": self.error,
        }
        if self.rows_verified is not None:
            out["rows_verified"] = self.rows_verified
        return out


def run_steps(
    manifest: Manifest, ctx: ExecutionContext, drivers: Mapping[str, type] | None = None
) -> dict[str, StepOutcome]:
    """Run every step of ``manifest``; return each step's outcome in manifest order."""
    if drivers is None:
        drivers = {
            s.id: ctx.registry.component(s.component).load_driver_class() for s in manifest.steps
        }
    run = _Run(manifest, ctx, drivers)
    try:
        run.execute()
    finally:
        run.release()
        shutil.rmtree(ctx.run_dir / "spill", ignore_errors=True)
    return run.outcomes


def output_of(result: Any) -> Any:
    """The ``df`` of a driver's result. Anything but a dict or ``None`` breaks the contract: a
    bare Table taken for "no output" would drop its rows while the step reports success."""
    if result is None:
        return None
    if not isinstance(result, Mapping):
        raise OsirisError(
            f"the driver returned {type(result).__name__}; expected a dict such as"
            " {'df': data} or {} for no output."
        )
    return result.get("df")


def error_sentence(step_id: str, exc: BaseException) -> str:
    """One sentence naming the step; the traceback goes to osiris.log only."""
    if isinstance(exc, StepError):
        return str(exc)
    if isinstance(exc, OsirisError):
        return f"Step '{step_id}': {exc}"
    detail = str(exc).strip() or "no message"
    return f"Step '{step_id}' failed: {type(exc).__name__}: {detail}"


class _Run:
    """State of one execution; every state change wakes the scheduler through ``_wake``."""

    def __init__(self, manifest: Manifest, ctx: ExecutionContext, drivers: Mapping[str, type]):
        self.manifest = manifest
        self.ctx = ctx
        self.drivers = drivers
        self.consumers = manifest.consumers()
        self.outcomes = {s.id: StepOutcome() for s in manifest.steps}
        self.data: dict[str, StepData | None] = {}
        """Published outputs: a step's consumers may start once its id is here."""
        self.streams: dict[str, _Stream] = {}
        self.counters: dict[str, dict[str, float]] = {s.id: {} for s in manifest.steps}
        self.started: dict[str, float] = {}
        self.lock = threading.RLock()
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()

    # -- scheduling (main thread) ------------------------------------------------------------------
    def execute(self) -> None:
        pool = ThreadPoolExecutor(
            max_workers=max(1, self.ctx.max_workers), thread_name_prefix="osiris-step"
        )
        try:
            self._schedule(pool)
            while not all(o.status in TERMINAL for o in self.outcomes.values()):
                self._wake.get()
                self._schedule(pool)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: do not wait for drivers
            raise
        pool.shutdown()

    def _schedule(self, pool: ThreadPoolExecutor) -> None:
        with self.lock:
            for step in self.manifest.steps:
                if self.outcomes[step.id].status != "pending":
                    continue
                broken = [n for n in step.needs if self.outcomes[n].status in ("failed", "skipped")]
                if broken:
                    self._skip(step, f"upstream step '{broken[0]}' did not succeed")
                elif all(n in self.data for n in step.needs):
                    self.outcomes[step.id].status = "queued"
                    pool.submit(self._run_step, step)

    # -- one step (worker threads) ----------------------------------------------------------------
    def _run_step(self, step: StepSpec) -> None:
        self.started[step.id] = time.perf_counter()
        self.outcomes[step.id].status = "running"
        try:
            self.ctx.event("step_start", step_id=step.id, component=step.component, mode=step.mode)
            result = self.drivers[step.id]().run(
                step_id=step.id,
                config=dict(step.config),
                inputs=self._inputs(step),
                ctx=self._step_context(step),
            )
            df = output_of(result)
            if df is None:
                self._finish_inputs(step)
                self._publish(step.id, None)
                self._complete(step.id, None, "none")
                return
            self._hand_on(step, as_reader(df))
        except BaseException as exc:  # a driver's failure is its step's outcome, not a crash
            self._fail_or_skip(step, exc)

    def _hand_on(self, step: StepSpec, reader: pa.RecordBatchReader) -> None:
        consumers = self.consumers[step.id]
        if len(consumers) == 1:
            stream = _Stream(self, step, reader)
            with self.lock:  # either the consumer's skip sees the stream, or we see the skip
                self.streams[step.id] = stream
                unread = self.outcomes[consumers[0]].status in TERMINAL
            self._publish(step.id, StepData.from_reader(stream.reader()))
            if unread:
                stream.finish()
            return
        if not consumers:
            rows = sum(batch.num_rows for batch in reader)
            self._finish_inputs(step)
            self._publish(step.id, None)
            self._complete(step.id, rows, "drained")
            return
        path, rows = self._spill(step.id, reader)
        self._finish_inputs(step)
        self._publish(step.id, StepData.from_ipc_file(path))
        self._complete(step.id, rows, "spilled", spill=str(path.relative_to(self.ctx.run_dir)))

    def _spill(self, step_id: str, reader: pa.RecordBatchReader) -> tuple[Any, int]:
        """Tee a multi-consumer output to an Arrow IPC stream file, batch by batch."""
        import pyarrow as pa

        spill_dir = self.ctx.run_dir / "spill"
        spill_dir.mkdir(parents=True, exist_ok=True)
        path = spill_dir / f"{re.sub(r'[^0-9A-Za-z_.-]', '_', step_id)}.arrow"
        rows = 0
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        return path, rows

    def _inputs(self, step: StepSpec) -> dict[str, StepData]:
        return {input_name(n): self.data[n] for n in step.needs if self.data.get(n) is not None}

    def _step_context(self, step: StepSpec) -> StepContext:
        connection = None
        if step.connection:
            self.ctx.event("connection_resolve_start", step_id=step.id, connection=step.connection)
            resolved = self.ctx.resolve_connection(step.connection)
            connection = dict(resolved.values)
            self.ctx.event(
                "connection_resolve_complete",
                step_id=step.id,
                connection=step.connection,
                family=resolved.family,
                alias=resolved.alias,
            )
        artifacts = self.ctx.artifacts_dir / step.id
        artifacts.mkdir(parents=True, exist_ok=True)
        return StepContext(
            step_id=step.id,
            artifacts_dir=artifacts,
            base_dir=self.manifest.base_dir,
            connection=connection,
            connection_ref=step.connection,
            incremental=(self.ctx.run_options.get("incremental") or {}).get(step.id),
            verify=self.ctx.run_options.get("verify"),
            event_sink=lambda name, fields: self.ctx.event(name, **fields),
            metric_sink=lambda name, value, unit, tags: self._driver_metric(
                step.id, name, value, unit, tags
            ),
        )

    def _driver_metric(
        self, step_id: str, name: str, value: float, unit: str | None, tags: dict[str, Any]
    ) -> None:
        """Pass a driver's metric on. ``rows_out`` is the runner's own (counted on the edge, once
        per step): a driver's copy would make the step's rows count twice in metrics.jsonl."""
        if name == RUNNER_ROWS_OUT:
            return
        if name in ROW_METRICS or name == ROWS_VERIFIED:
            with self.lock:
                counters = self.counters[step_id]
                counters[name] = counters.get(name, 0) + value
        self.ctx.metric(name, value, unit, **tags)

    # -- outcomes (any thread) --------------------------------------------------------------------
    def _publish(self, step_id: str, data: StepData | None) -> None:
        with self.lock:
            self.data[step_id] = data
        self._wake.put(None)

    def _complete(self, step_id: str, rows: int | None, output: str, **extra: Any) -> None:
        with self.lock:
            outcome = self.outcomes[step_id]
            if outcome.status in TERMINAL:
                return
            counters = self.counters[step_id]
            if rows is None and ROW_METRICS[1] in counters:
                rows = int(counters[ROW_METRICS[1]])
            elif rows is None and ROW_METRICS[0] in counters:
                rows = int(counters[ROW_METRICS[0]])
            outcome.status, outcome.rows = "succeeded", rows
            if ROWS_VERIFIED in counters:
                outcome.rows_verified = int(counters[ROWS_VERIFIED])
            outcome.duration_ms = self._elapsed(step_id)
        if rows is not None and output != "none":
            self.ctx.metric(RUNNER_ROWS_OUT, rows, "rows", step_id=step_id)
        self.ctx.metric("step_duration_ms", outcome.duration_ms, "ms", step_id=step_id)
        self.ctx.event(
            "step_complete",
            step_id=step_id,
            rows=rows,
            duration_ms=outcome.duration_ms,
            output=output,
            **extra,
        )
        self._wake.put(None)

    def _fail_or_skip(self, step: StepSpec, exc: BaseException) -> None:
        """An upstream stream that broke makes this step skipped, not failed: blame the cause."""
        with self.lock:
            broken = [n for n in step.needs if self.outcomes[n].status in ("failed", "skipped")]
        if broken:
            self._skip(step, f"upstream step '{broken[0]}' did not succeed")
        else:
            self._fail(step.id, exc)
        self._finish_inputs(step)

    def _fail(self, step_id: str, exc: BaseException) -> None:
        message = error_sentence(step_id, exc)
        with self.lock:
            outcome = self.outcomes[step_id]
            if outcome.status in TERMINAL:
                return
            outcome.status, outcome.error = "failed", message
            outcome.duration_ms = self._elapsed(step_id)
        self.ctx.session.log_exception(message, exc)
        self.ctx.metric("step_duration_ms", outcome.duration_ms, "ms", step_id=step_id)
        self.ctx.event(
            "step_error", step_id=step_id, error=message, duration_ms=outcome.duration_ms
        )
        self._wake.put(None)

    def _skip(self, step: StepSpec, reason: str) -> None:
        with self.lock:
            outcome = self.outcomes[step.id]
            if outcome.status in TERMINAL:
                return
            outcome.status, outcome.error = "skipped", reason
        self.ctx.event("step_skipped", step_id=step.id, reason=reason)
        self._finish_inputs(step)
        self._wake.put(None)

    def _finish_inputs(self, step: StepSpec) -> None:
        """Close upstream streams this step stopped reading; their producers end with what flowed."""
        for need in step.needs:
            stream = self.streams.get(need)
            if stream is not None:
                stream.finish()

    def _elapsed(self, step_id: str) -> int:
        start = self.started.get(step_id)
        return 0 if start is None else int((time.perf_counter() - start) * 1000)

    def release(self) -> None:
        """Drop every stream and output now, so drivers close their connections before we return.

        Streams and the run reference each other; left to the cycle collector, an extractor's
        connection (and its read transaction's metadata locks) would outlive the run.
        """
        with self.lock:
            streams = list(self.streams.values())
            self.streams.clear()
            self.data.clear()
        for stream in streams:
            stream.release()


class _Stream:
    """A single-consumer edge: counts rows as the consumer pulls and completes the producer."""

    def __init__(self, run: _Run, step: StepSpec, reader: pa.RecordBatchReader) -> None:
        self.run = run
        self.step = step
        self.source = reader
        self.rows = 0
        self._done = False
        self._lock = threading.Lock()
        self._pull: Iterator[pa.RecordBatch] | None = None

    def reader(self) -> pa.RecordBatchReader:
        import pyarrow as pa

        self._pull = self._batches()
        return pa.RecordBatchReader.from_batches(self.source.schema, self._pull)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self.source:
                self.rows += batch.num_rows
                yield batch
        except GeneratorExit:
            self.finish()
            raise
        except BaseException as exc:
            self._end()
            self.run._fail_or_skip(self.step, exc)
            raise
        self.finish()

    def finish(self) -> None:
        """The stream ended (exhausted, or its consumer stopped): the producer succeeded."""
        if self._end():
            self.run._finish_inputs(self.step)
            self.run._complete(self.step.id, self.rows, "streamed")

    def _end(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self._done = True
        self.release()
        return True

    def release(self) -> None:
        """Let go of the producer's reader, which finalizes the driver's generator.

        ``RecordBatchReader.close()`` does not close the Python iterator behind it; dropping the
        last reference does. A pull that is running (this is called from inside it) ends by itself.
        """
        source, self.source = self.source, None
        if source is None:
            return
        if self._pull is not None:
            with contextlib.suppress(ValueError):  # "generator already executing"
                self._pull.close()
        source.close()
