"""Incremental state: typed marks, the SQLite store, the host's read-before / commit-after, the
worker's --run-options (a remote run hands marks in and reports them back the same way), the
validator's cross-step checks and `osiris state`."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from osiris import hookimpl
from osiris.adapters import CollectedArtifacts, ExecResult, ExecutionAdapter, PreparedRun
from osiris.errors import StepError
from osiris.state.cursor import IncrementalRead, Mark, cursor_kind, mark_of, parse_lookback
from osiris.state.store import StateStore

UTC = dt.UTC


# -- marks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        ("integer", 18446744073709551615, "18446744073709551615"),
        ("decimal", Decimal("1E-7"), "0.0000001"),  # never 1E-7: SQL reads that as a float
        ("decimal", Decimal("12345678901234567890123456789012345678.90"),
         "12345678901234567890123456789012345678.90"),
        ("date", dt.date(2026, 2, 28), "2026-02-28"),
        ("timestamp", dt.datetime(2026, 1, 1, 8, 0, 0, 1), "2026-01-01T08:00:00.000001"),
        ("timestamptz", dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
         "2025-12-31T23:00:00.000000+00:00"),
    ],
)  # fmt: skip
def test_marks_are_exact_text_that_round_trips(kind, value, text):
    mark = mark_of(kind, value)
    assert mark == Mark(kind, text)
    back = Mark.from_dict(json.loads(json.dumps(mark.as_dict())))
    assert back.python() == value


@pytest.mark.parametrize(
    "data",
    [{"type": "integer", "value": "***"}, {"type": "float", "value": "1.5"},
     {"type": "timestamp", "value": "2026-01-01T00:00:00+00:00"}, {"type": "date"}],
)  # fmt: skip
def test_a_value_that_is_not_a_mark_is_refused(data):
    with pytest.raises(ValueError):
        Mark.from_dict(data)


def test_cursor_kinds_and_refusals():
    def kind(t, meta=None):
        return cursor_kind(pa.field("c", t, metadata=meta))

    assert kind(pa.uint64())[0] == "integer" and kind(pa.decimal128(12, 2))[0] == "decimal"
    assert kind(pa.string(), {b"osiris.type": b"numeric"})[0] == "decimal"
    assert kind(pa.timestamp("us", "UTC"))[0] == "timestamptz"
    assert kind(pa.timestamp("us"))[0] == "timestamp" and kind(pa.date32())[0] == "date"
    assert kind(pa.float64()) == (None, "floats are approximate, so rows near the mark could be"
                                  " skipped")  # fmt: skip
    assert "collation" in kind(pa.string())[1]
    assert kind(pa.bool_())[0] is None


def test_bounds_from_mark_lookback_and_initial():
    ts = pa.field("c", pa.timestamp("us", "UTC"))
    read = IncrementalRead("s", {"cursor": "c", "lookback": "90 minutes"},
                           {"last": {"type": "timestamptz", "value": "2026-01-01T02:00:00+00:00"}})  # fmt: skip
    read.bind(ts)
    assert (read.op, read.bound.value) == (">=", "2026-01-01T00:30:00.000000+00:00")
    first = IncrementalRead("s", {"cursor": "c", "initial": "2026-01-01T00:00:00"}, None)
    first.bind(ts)  # no offset on a timestamptz cursor: UTC
    assert (first.op, first.bound.value) == (">=", "2026-01-01T00:00:00.000000+00:00")
    plain = IncrementalRead("s", {"cursor": "c"}, {"last": {"type": "integer", "value": "7"}})
    plain.bind(pa.field("c", pa.int32()))
    assert (plain.op, plain.lower) == (">", 7)
    dec = IncrementalRead("s", {"cursor": "c", "lookback": 0.5},
                          {"last": {"type": "decimal", "value": "1" + "0" * 40 + ".25"}})  # fmt: skip
    dec.bind(pa.field("c", pa.decimal256(50, 2)))
    assert dec.bound.value == "9" * 40 + ".75"  # every digit: 10^40 + 0.25 - 0.5


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("timestamp", "2 fortnights", "is not a duration"),
        ("timestamp", 5, "is not a duration"),
        ("date", "36 hours", "whole days"),
        ("integer", -1, "must not be negative"),
        ("integer", "x", "not a valid integer"),
    ],
)
def test_bad_lookbacks_name_the_value(kind, raw, message):
    with pytest.raises(StepError, match=message):
        parse_lookback("s", kind, raw)


def test_bind_refuses_a_changed_type_a_missing_column_and_a_bad_initial():
    stored = {"last": {"type": "integer", "value": "3"}}
    with pytest.raises(
        StepError,
        match=r"stored mark of cursor 'c' is of type integer \(3\).*now of type timestamp",
    ):
        IncrementalRead("s", {"cursor": "c"}, stored).bind(pa.field("c", pa.timestamp("us")))
    with pytest.raises(StepError, match="stored mark of cursor 'c' cannot be read"):
        IncrementalRead("s", {"cursor": "c"}, {"last": {"type": "date", "value": "soon"}})
    with pytest.raises(StepError, match="'c' is not in the result"):
        IncrementalRead("s", {"cursor": "c"}, None).bind(None)
    with pytest.raises(StepError, match="has a time zone, but the cursor column is a timestamp"):
        IncrementalRead("s", {"cursor": "c", "initial": "2026-01-01T00:00:00Z"}, None).bind(
            pa.field("c", pa.timestamp("us"))
        )


def test_track_refuses_nulls_and_reports_the_largest_value():
    events = []

    class Ctx:
        def log_event(self, name, **fields):
            events.append((name, fields))

    read = IncrementalRead("s", {"cursor": "c"}, {"last": {"type": "integer", "value": "5"}})
    read.bind(pa.field("c", pa.int64()))
    batches = [pa.record_batch([pa.array([9, 6])], names=["c"])]
    assert sum(b.num_rows for b in read.track(iter(batches), Ctx())) == 2
    assert events == [("incremental_mark", {"cursor": "c", "type": "integer", "value": "9",
                                            "rows": 2})]  # fmt: skip
    nulls = [pa.record_batch([pa.array([7, None])], names=["c"])]
    with pytest.raises(StepError, match="1 row\\(s\\) have NULL there"):
        list(read.track(iter(nulls), Ctx()))


# -- the store ------------------------------------------------------------------------------------


def test_store_reads_without_creating_and_commits_atomically(tmp_path):
    store = StateStore(tmp_path / ".osiris" / "state.sqlite")
    assert store.get("p", "s") is None and not store.path.exists()
    store.commit("p", [("a", "id", Mark("integer", "1")), ("b", "ts", Mark("date", "2026-01-01"))],
                 session="run_x", updated_at="2026-01-01T00:00:00.000Z")  # fmt: skip
    assert [m.mark.value for m in store.list("p")] == ["1", "2026-01-01"]
    with pytest.raises(sqlite3.IntegrityError):  # the second entry breaks: the first is undone
        store.commit("p", [("a", "id", Mark("integer", "2")), ("b", "ts", Mark(None, "x"))],  # type: ignore[arg-type]
                     session="run_y", updated_at="2026-01-02T00:00:00.000Z")  # fmt: skip
    assert store.get("p", "a").mark.value == "1"
    assert store.reset("p", "a") == 1 and [m.step_id for m in store.list()] == ["b"]


# -- host: read before, commit after (local, and through a worker like a remote adapter) ----------


@pytest.fixture
def project(tmp_path, monkeypatch, runner_kit):
    monkeypatch.chdir(tmp_path)
    runner_kit.SEEN["inc.source"] = {"id": [1, 2, 3], "v": ["a", "b", "c"]}
    return tmp_path


def _steps(writer_config=None, incremental=None):
    return [
        {"id": "src", "component": "kit.incremental",
         "config": {"incremental": incremental or {"cursor": "id"}}},
        {"id": "pass", "component": "kit.passthrough", "needs": ["src"]},
        {"id": "dst", "component": "kit.counter", "needs": ["pass"],
         "config": writer_config or {}},
    ]  # fmt: skip


def _run(runner_kit, tmp_path, steps, *, adapter="local", registry=None, **options):
    from osiris.runner.run import run_manifest

    manifest = runner_kit.write_manifest(tmp_path / "compiled", steps)
    return run_manifest(
        manifest, logs_dir=tmp_path / "logs", registry=registry or runner_kit.registry(),
        adapter=adapter, **options,
    )  # fmt: skip


def _events(result, name):
    lines = (result.session_dir / "events.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["event"] == name]


def test_marks_are_committed_after_the_writes_and_handed_to_the_next_run(project, runner_kit):
    first = _run(runner_kit, project, _steps())
    assert first.ok and first.state["src"] == {"cursor": "id", "value": "3", "previous": None,
                                                "committed": True}  # fmt: skip
    assert runner_kit.SEEN["src.handed"] == {"cursor": "id", "last": None}
    assert StateStore().get("kit-pipeline", "src").mark == Mark("integer", "3")
    runner_kit.SEEN["inc.source"] = {"id": [1, 2, 3, 4, 5], "v": list("abcde")}
    second = _run(runner_kit, project, _steps())
    assert runner_kit.SEEN["src.handed"]["last"] == {"type": "integer", "value": "3"}
    assert runner_kit.SEEN["dst"]["rows"] == 2
    assert [e["value"] for e in _events(second, "state_commit")] == ["5"]
    status = json.loads((second.session_dir / "status.json").read_text())
    assert status["state"]["src"]["previous"] == "3"


def test_a_failed_write_downstream_keeps_the_mark(project, runner_kit):
    assert _run(runner_kit, project, _steps()).ok
    runner_kit.SEEN["inc.source"] = {"id": [1, 2, 3, 4, 5], "v": list("abcde")}
    failed = _run(runner_kit, project, _steps({"fail_after": 1}))
    assert not failed.ok
    kept = _events(failed, "state_kept")
    assert [(k["reason"], k["value"]) for k in kept] == [("write step 'dst' did not commit", "3")]
    assert StateStore().get("kit-pipeline", "src").mark.value == "3"
    again = _run(runner_kit, project, _steps())
    assert runner_kit.SEEN["dst"]["rows"] == 2 and again.state["src"]["value"] == "5"


def test_each_branch_commits_on_its_own_writes(project, runner_kit):
    steps = [
        {"id": "a", "component": "kit.incremental", "config": {"incremental": {"cursor": "id"}}},
        {"id": "wa", "component": "kit.counter", "needs": ["a"]},
        {"id": "b", "component": "kit.incremental", "config": {"incremental": {"cursor": "id"}}},
        {"id": "wb", "component": "kit.counter", "needs": ["b"], "config": {"fail_after": 0}},
    ]
    result = _run(runner_kit, project, steps)
    assert not result.ok
    assert result.state["a"]["committed"] is True and result.state["b"]["committed"] is False
    assert [m.step_id for m in StateStore().list("kit-pipeline")] == ["a"]


def test_full_refresh_ignores_the_mark_for_one_run(project, runner_kit):
    assert _run(runner_kit, project, _steps()).ok
    refreshed = _run(runner_kit, project, _steps(), full_refresh=True)
    assert runner_kit.SEEN["src.handed"]["last"] is None and runner_kit.SEEN["dst"]["rows"] == 3
    read = _events(refreshed, "state_read")[0]
    assert (read["full_refresh"], read["found"], read["value"]) == (True, True, "3")
    assert _events(refreshed, "state_commit")[0]["value"] == "3"


def test_a_changed_cursor_is_invalid_input_before_anything_runs(project, runner_kit):
    assert _run(runner_kit, project, _steps()).ok
    result = _run(runner_kit, project, _steps(incremental={"cursor": "v"}))
    assert result.exit_code == 2
    assert "stored mark is for cursor 'id', but the step's cursor is now 'v'" in result.error
    assert not _events(result, "step_start")


class ReplayAdapter(ExecutionAdapter):
    """Runs the worker as a remote adapter does: run options in a file next to the compiled
    pipeline, ``osiris.worker`` main, its JSON lines turned back into host events."""

    name = "replay"

    def prepare(self, manifest, ctx):
        upload = ctx.run_dir / "upload"
        upload.mkdir()
        options = upload / "run_options.json"
        options.write_text(json.dumps(ctx.run_options))
        return PreparedRun(manifest=manifest, compiled_dir=ctx.compiled_dir,
                           extra={"options": options})  # fmt: skip

    def execute(self, prepared, ctx):
        from osiris.worker import run_compiled

        out = io.StringIO()
        options = json.loads(prepared.extra["options"].read_text())  # as --run-options reads it
        run_compiled(prepared.compiled_dir, ctx.run_dir / "remote", out=out,
                     registry=ctx.registry, run_options=options)  # fmt: skip
        result = {}
        for line in out.getvalue().splitlines():
            record = json.loads(line)
            kind = record.pop("kind")
            record.pop("ts", None)
            if kind == "event":
                ctx.session.event(record.pop("event"), **record)
            elif kind == "metric":
                ctx.session.metric(record.pop("metric"), record.pop("value"),
                                   record.pop("unit", None), **record)  # fmt: skip
            else:
                result = record
        return ExecResult(ok=result["ok"], steps=result["steps"], error=result["error"])

    def collect(self, prepared, ctx):
        return CollectedArtifacts()


@hookimpl
def register_execution_adapters():
    return [ReplayAdapter]


def test_a_remote_run_gets_its_marks_through_run_options_and_reports_them_back(project, runner_kit):
    pm = runner_kit.plugin_manager()
    pm.register_plugin(sys.modules[__name__], __name__, "osiris-test-replay", "0.1.0")
    from osiris.registry import build_registry

    registry = build_registry(pm)
    compiled = project / "compiled"
    assert _run(runner_kit, project, _steps(), adapter="replay", registry=registry).ok
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in compiled.rglob("*.*")}
    runner_kit.SEEN["inc.source"] = {"id": [1, 2, 3, 4], "v": list("abcd")}
    remote = _run(runner_kit, project, _steps(), adapter="replay", registry=registry)
    assert remote.ok
    assert runner_kit.SEEN["src.handed"] == {"cursor": "id", "last": {"type": "integer",
                                                                       "value": "3"}}  # fmt: skip
    assert runner_kit.SEEN["dst"]["rows"] == 1
    assert remote.state["src"]["value"] == "4" and StateStore().get("kit-pipeline", "src")
    mark = _events(remote, "incremental_mark")[0]
    assert (mark["value"], mark["rows"]) == ("4", 1)
    assert json.loads((remote.session_dir / "upload" / "run_options.json").read_text()) == {
        "incremental": {"src": {"cursor": "id", "last": {"type": "integer", "value": "3"}}}
    }
    runner_kit.write_manifest(compiled, _steps())  # the same compile: marks never enter it
    assert digest == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in compiled.rglob("*.*")
    }


# -- validation and the CLI -----------------------------------------------------------------------


def test_an_incremental_step_that_feeds_no_writer_is_a_validation_error(tmp_path, runner_kit):
    from osiris.oml import OmlValidationError, load_pipeline

    oml = tmp_path / "p.yaml"
    oml.write_text(
        'oml_version: "0.1.0"\nname: p\nsteps:\n  - id: src\n    component: kit.incremental\n'
        "    mode: read\n    config: {incremental: {cursor: id}}\n"
    )
    with pytest.raises(OmlValidationError) as raised:
        load_pipeline(oml, runner_kit.registry())
    (issue,) = [i for i in raised.value.errors if "incremental" in i.path]
    assert issue.path == "steps[0].config.incremental"
    assert "feeds no write step" in issue.message


def test_state_commands(project, runner_kit):
    from osiris.cli.main import cli

    assert _run(runner_kit, project, _steps()).ok
    runner = CliRunner()
    listed = runner.invoke(cli, ["state", "list", "--json"])
    assert [(m["pipeline"], m["step_id"], m["type"], m["value"]) for m in json.loads(
        listed.stdout)] == [("kit-pipeline", "src", "integer", "3")]  # fmt: skip
    assert "kit-pipeline  src   id      integer  3" in runner.invoke(cli, ["state", "show",
                                                                        "kit-pipeline"]).stdout  # fmt: skip
    missing = runner.invoke(cli, ["state", "reset", "nope"])
    assert missing.exit_code == 2 and "Pipelines with state: kit-pipeline" in missing.output
    reset = runner.invoke(cli, ["state", "reset", "kit-pipeline"])
    assert reset.exit_code == 0 and "Reset 1 mark of pipeline 'kit-pipeline'" in reset.stdout
    assert StateStore().list() == []
    assert Path(".osiris/state.sqlite").is_file()


def test_logs_show_and_the_run_summary_carry_the_state(project, runner_kit):
    from osiris.cli.main import cli
    from osiris.cli.run_cmd import summary_text

    result = _run(runner_kit, project, _steps())
    assert "  state src: id = 3 (stored)" in summary_text(result).splitlines()
    shown = CliRunner().invoke(cli, ["logs", "show", str(result.session_dir)])
    assert shown.exit_code == 0
    assert "State\n  state src: id = 3 (stored)" in shown.stdout
    runner_kit.SEEN["inc.source"] = {"id": [1, 2, 3, 4], "v": list("abcd")}
    again = _run(runner_kit, project, _steps({"fail_after": 0}))
    assert "  state src: id stays 3 (write step 'dst' did not commit)" in summary_text(again)
