"""The AIOP of real runs: exported at the end of every run, faithful, deterministic, bounded."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pytest
import report_testkit as rk
from osiris.report.export import build_package, export_aiop
from osiris.testing.session_checks import (
    assert_aiop_valid,
    assert_no_secrets,
    assert_session_valid,
)

REPO = Path(__file__).resolve().parents[2]
OPTIONS = {
    "enabled": True,
    "max_core_bytes": 300_000,
    "annex": True,
    "annex_gzip": False,
    "runcard": True,
}


def valid_aiop(path: Path) -> dict:
    """Load an aiop.json, valid against the shipped schema with every citation resolvable."""
    return assert_aiop_valid(path)


def valid_bytes(data: bytes, tmp_path: Path) -> dict:
    path = tmp_path / "check" / "aiop.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return valid_aiop(path)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("OSIRIS_HOME", "REPORT_ROWS", "OSIRIS_LOGS_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_schema_in_docs_is_the_shipped_one():
    shipped = (resources.files("osiris") / "schemas" / "aiop.schema.json").read_bytes()
    assert (REPO / "docs" / "reference" / "aiop.schema.json").read_bytes() == shipped


def test_successful_run_exports_a_faithful_aiop(tmp_path):
    result = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    assert result.ok, result.error
    session = result.session_dir
    status = assert_session_valid(session)
    aiop_dir = session / "aiop"
    assert sorted(
        p.relative_to(aiop_dir).as_posix() for p in aiop_dir.rglob("*") if p.is_file()
    ) == [
        "aiop.json",
        "annex/events.ndjson",
        "annex/metrics.ndjson",
        "runcard.md",
    ]
    doc = valid_aiop(aiop_dir / "aiop.json")
    ev = doc["evidence"]
    assert ev["run"]["status"] == "ok" and ev["run"]["ok"] is True and ev["run"]["exit_code"] == 0
    assert ev["run"]["session"] == session.name == doc["metadata"]["session"]["id"]
    # rows: every total is the sum of what the steps reported in status.json and the metrics
    by_step = {s["step_id"]: s for s in ev["steps"]}
    assert list(by_step) == ["read-a", "read-b", "write-a", "write-b", "count-b"]
    for step_id, outcome in status["steps"].items():
        assert by_step[step_id]["status"] == outcome["status"]
        assert by_step[step_id]["rows_out"] == outcome["rows"]
    assert by_step["write-b"]["rows_in"] == 1234 and by_step["write-a"]["rows_written"] == 7
    assert by_step["write-a"]["rows_verified"] == 7
    assert ev["totals"]["rows_written"] == 7 + 1234 + 1234
    assert ev["totals"]["rows_written"] == sum(
        status["steps"][s]["rows"] for s in ("write-a", "write-b", "count-b")
    )
    assert ev["totals"]["rows_out"] == sum(o["rows"] for o in status["steps"].values())
    assert (ev["totals"]["succeeded"], ev["totals"]["failed"]) == (5, 0)
    # times come from the events
    events = [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]
    assert ev["run"]["started_at"] == events[0]["ts"]
    assert ev["run"]["finished_at"] == events[-1]["ts"]
    assert ev["run"]["duration_ms"] == events[-1]["duration_ms"]
    start = next(e for e in events if e["event"] == "step_start" and e["step_id"] == "write-a")
    assert by_step["write-a"]["started_at"] == start["ts"]
    assert [t["id"] for t in ev["timeline"]] == [f"ev:{n}" for n in range(1, len(events) + 1)]
    # semantic: the DAG, the components with their distributions, the OML
    sem = doc["semantic"]
    assert {"from": "read-b", "to": "count-b"} in sem["dag"]["edges"]
    assert {c["name"]: c["distribution"] for c in sem["components"]}["rk.source"] == (
        "osiris-report-testkit"
    )
    assert "name: branches" in sem["oml"]
    assert sem["pipeline"]["fingerprints"]["manifest_fp"].startswith("sha256:")
    # narrative: the chat's intent, and every citation resolves to evidence
    assert doc["narrative"]["intent"]["text"].startswith("copy both sources")
    assert doc["narrative"]["intent"]["chat_session"] == "chat_20261122T041500Z_7a1b2c"
    assert "copy both sources" in doc["narrative"]["summary"]
    assert "writers wrote 2,475 rows" in doc["narrative"]["summary"]
    assert ev["delta"]["first_run"] is True
    runcard = (aiop_dir / "runcard.md").read_text()
    assert runcard.startswith("### ✅ branches succeeded")
    assert "| `write-b` | kit.counter | succeeded | 1,234 |" in runcard


def test_failed_run_points_at_the_failing_step(tmp_path):
    result = rk.compile_and_run(
        rk.branches_oml(tmp_path, fail="disk quota exceeded"), tmp_path / "logs"
    )
    assert not result.ok and result.exit_code == 1
    doc = valid_aiop(result.session_dir / "aiop" / "aiop.json")
    ev = doc["evidence"]
    assert ev["run"]["status"] == "failed" and ev["run"]["ok"] is False
    assert ev["run"]["exit_code"] == 1 and ev["run"]["failed_step"] == "read-b"
    assert ev["run"]["error"] == result.error
    step_error = next(e for e in ev["errors"] if e["id"] == "error:read-b")
    assert "disk quota exceeded" in step_error["message"]
    event = next(t for t in ev["timeline"] if t["id"] == step_error["cites"][0])
    assert event["event"] == "step_error" and event["step_id"] == "read-b"
    statuses = {s["step_id"]: s["status"] for s in ev["steps"]}
    assert statuses == {
        "read-a": "succeeded",
        "read-b": "failed",
        "write-a": "succeeded",
        "write-b": "skipped",
        "count-b": "skipped",
    }
    failure = next(s for s in doc["narrative"]["sentences"] if "error:read-b" in s["cites"])
    assert failure["text"].startswith("The run failed at step 'read-b' (kit.synthetic)")
    assert "disk quota exceeded" in failure["text"]
    assert "2 steps did not run because of it: 'write-b', 'count-b'." in doc["narrative"]["summary"]
    runcard = (result.session_dir / "aiop" / "runcard.md").read_text()
    assert runcard.startswith("### ❌ branches failed")
    assert "**Failed at step `read-b`:**" in runcard and "disk quota exceeded" in runcard


def test_export_is_deterministic_and_matches_the_automatic_one(tmp_path):
    result = rk.compile_and_run(rk.branches_oml(tmp_path, events=30), tmp_path / "logs")
    auto = result.session_dir / "aiop"
    first = export_aiop(result.session_dir, tmp_path / "one")
    second = export_aiop(result.session_dir, tmp_path / "two")
    names = [p.relative_to(tmp_path / "one") for p in first]
    assert names == [p.relative_to(tmp_path / "two") for p in second]
    for name in names:
        one = (tmp_path / "one" / name).read_bytes()
        assert one == (tmp_path / "two" / name).read_bytes(), name
        assert one == (auto / name).read_bytes(), name


def test_size_limit_cuts_the_timeline_deterministically_and_the_annex_has_everything(tmp_path):
    result = rk.compile_and_run(rk.branches_oml(tmp_path, events=400), tmp_path / "logs")
    session = result.session_dir
    options = {**OPTIONS, "max_core_bytes": 40_000}
    package = build_package(session, options=options)
    assert package.files == build_package(session, options=options).files
    core = package.files["aiop.json"]
    assert len(core) <= 40_000
    doc = valid_bytes(core, tmp_path)
    events = (session / "events.jsonl").read_text().splitlines()
    truncation = doc["metadata"]["truncation"]
    assert truncation["applied"] is True and "over_budget" not in truncation
    (cut,) = truncation["sections"]
    kept = doc["evidence"]["timeline"]
    assert cut["section"] == "evidence.timeline" and cut["total"] == len(events) > 400
    assert cut["kept"] == len(kept) and cut["dropped"] == len(events) - len(kept) > 0
    names = [t["event"] for t in kept]
    assert names[0] == "run_start" and names[-1] == "run_complete"
    assert {"step_start", "step_complete"} <= set(names)  # the run's skeleton survives
    # the annex holds every line with its evidence id, also gzipped byte-for-byte the same text
    annex = package.files["annex/events.ndjson"].decode().splitlines()
    assert [json.loads(x)["id"] for x in annex] == [f"ev:{n}" for n in range(1, len(events) + 1)]
    assert [json.loads(x)["event"] for x in annex] == [json.loads(e)["event"] for e in events]
    zipped = build_package(session, options={**options, "annex_gzip": True})
    raw = zipped.files["annex/events.ndjson.gz"]
    assert gzip.decompress(raw) == package.files["annex/events.ndjson"]
    assert (
        raw
        == build_package(session, options={**options, "annex_gzip": True}).files[
            "annex/events.ndjson.gz"
        ]
    )
    entry = next(
        a
        for a in json.loads(zipped.files["aiop.json"])["metadata"]["annex"]
        if "events" in a["file"]
    )
    assert entry == {"file": "annex/events.ndjson.gz", "records": len(events), "bytes": len(raw)}


def test_delta_against_the_previous_run_of_the_same_manifest(tmp_path, monkeypatch):
    oml = rk.branches_oml(tmp_path)
    first = rk.compile_and_run(oml, tmp_path / "logs")
    monkeypatch.setenv("REPORT_ROWS", "9")  # same manifest, the source now has 9 rows
    second = rk.compile_and_run(oml, tmp_path / "logs")
    delta = valid_aiop(second.session_dir / "aiop" / "aiop.json")["evidence"]["delta"]
    assert delta["first_run"] is False and delta["previous_session"] == first.session_id
    assert delta["status_before"] == delta["status_now"] == "ok"
    assert delta["duration_change_ms"] == delta["duration_ms_now"] - delta["duration_ms_before"]
    changed = {
        c["step_id"]: (c["rows_before"], c["rows_now"], c["rows_change"])
        for c in delta["steps_changed"]
    }
    assert changed == {"read-a": (7, 9, 2), "write-a": (7, 9, 2)}
    assert delta["steps_unchanged"] == 3
    (tmp_path / "other").mkdir()
    other = rk.branches_oml(tmp_path / "other")
    other.write_text(other.read_text().replace("rows: 1234", "rows: 5"))
    third = rk.compile_and_run(other, tmp_path / "logs")  # another manifest: a first run
    doc = valid_aiop(third.session_dir / "aiop" / "aiop.json")
    assert doc["evidence"]["delta"]["first_run"] is True
    assert "This is the first run of this compiled pipeline" in doc["narrative"]["summary"]


def test_planted_secret_reaches_no_aiop_file(tmp_path, monkeypatch, runner_kit):
    import textwrap

    from osiris.compiler import compile_pipeline
    from osiris.runner.run import run_manifest

    monkeypatch.setenv("KIT_PASSWORD", runner_kit.SECRET)
    (tmp_path / "osiris_connections.yaml").write_text(
        "version: 1\nconnections:\n  kitdb:\n    main:\n      host: localhost\n"
        "      user: reader\n      password: ${KIT_PASSWORD}\n"
    )
    (tmp_path / "leaky.yaml").write_text(
        textwrap.dedent("""\
        oml_version: "0.1.0"
        name: leaky
        steps:
          - {id: leak, component: kit.leaky, mode: read, config: {connection: "@kitdb.main", fail: true}}
          - {id: sink, component: kit.counter, mode: write, needs: [leak]}
        """)
    )
    reg = runner_kit.registry()
    compiled = compile_pipeline(tmp_path / "leaky.yaml", tmp_path / "build", registry=reg)
    result = run_manifest(compiled.manifest_path, logs_dir=tmp_path / "logs", registry=reg)
    assert not result.ok
    aiop_dir = result.session_dir / "aiop"
    doc = valid_aiop(aiop_dir / "aiop.json")
    assert "login failed for password ***" in doc["narrative"]["summary"]
    assert_no_secrets(aiop_dir, [runner_kit.SECRET])
    assert_no_secrets(tmp_path / "logs", [runner_kit.SECRET])


def test_settings_gate_and_shape_the_export(tmp_path, monkeypatch):
    monkeypatch.setenv("OSIRIS_AIOP_ENABLED", "false")
    off = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    assert off.ok and not (off.session_dir / "aiop").exists()
    monkeypatch.delenv("OSIRIS_AIOP_ENABLED")
    (tmp_path / "osiris.yaml").write_text("aiop:\n  annex_gzip: true\n  runcard: false\n")
    on = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    files = sorted(p.name for p in (on.session_dir / "aiop").rglob("*") if p.is_file())
    assert files == ["aiop.json", "events.ndjson.gz", "metrics.ndjson.gz"]
    settings = valid_aiop(on.session_dir / "aiop" / "aiop.json")["metadata"]["settings"]["aiop"]
    assert settings["annex_gzip"] == {"value": True, "source": "YAML"}
    assert settings["enabled"] == {"value": True, "source": "DEFAULT"}


def test_a_failing_export_never_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("OSIRIS_AIOP_MAX_CORE_BYTES", "5")  # below the schema's minimum
    result = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    assert result.ok and result.exit_code == 0
    assert_session_valid(result.session_dir)  # still ends with run_complete
    assert not (result.session_dir / "aiop").exists()
    assert not [p for p in result.session_dir.iterdir() if p.name.startswith(".aiop")]
    log = (result.session_dir / "osiris.log").read_text()
    assert "WARNING AIOP export failed (InvalidInputError: Setting 'aiop.max_core_bytes'" in log
    assert "the run itself is unaffected" in log


def test_cli_prints_or_writes_the_package(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from osiris.cli.main import cli

    result = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    monkeypatch.setenv("OSIRIS_LOGS_DIR", str(tmp_path / "logs"))
    runner = CliRunner()
    shown = runner.invoke(cli, ["logs", "aiop", "last"])
    assert shown.exit_code == 0, shown.output
    assert shown.output == (result.session_dir / "aiop" / "aiop.json").read_text()
    card = runner.invoke(cli, ["logs", "aiop", result.session_id, "--format", "md"])
    assert card.output == (result.session_dir / "aiop" / "runcard.md").read_text()
    small = runner.invoke(
        cli, ["logs", "aiop", "last", "--max-core-bytes", "20000", "--out", "a.json"]
    )
    assert small.exit_code == 0 and small.output.strip() == "a.json"
    doc = valid_aiop(tmp_path / "a.json")
    assert doc["metadata"]["settings"]["aiop"]["max_core_bytes"] == {
        "value": 20000,
        "source": "CLI",
    }
    assert doc["metadata"]["size"]["max_core_bytes"] == 20000
    whole = runner.invoke(cli, ["logs", "aiop", "last", "--out", "pkg/"])
    assert whole.exit_code == 0 and "Wrote 4 file(s)" in whole.output
    assert (tmp_path / "pkg" / "annex" / "events.ndjson").is_file()
    missing = runner.invoke(cli, ["logs", "aiop", "nope"])
    assert missing.exit_code == 2 and "No session 'nope'" in missing.output


@pytest.fixture
def chat_session():
    with rk.chat_session() as session:
        yield session


def test_generic_session_gets_a_valid_aiop(chat_session, tmp_path):
    session = chat_session
    package = build_package(session.dir, options=OPTIONS)
    doc = valid_bytes(package.files["aiop.json"], tmp_path)
    assert doc["evidence"]["run"]["status"] == "unfinished" and doc["evidence"]["steps"] == []
    assert doc["narrative"]["sentences"][0]["text"].startswith(
        f"Session {session.id} ran chat session on the local adapter and did not finish"
    )


def test_a_run_that_never_started_still_gets_its_aiop(tmp_path):
    from click.testing import CliRunner
    from osiris.cli.main import cli

    (tmp_path / "bad.yaml").write_text('oml_version: "0.1.0"\nname: bad\nsteps:\n  - {id: x}\n')
    result = CliRunner().invoke(cli, ["run", "bad.yaml"], obj={"registry": rk.registry()})
    assert result.exit_code == 2
    (session,) = (tmp_path / "logs").iterdir()
    doc = valid_aiop(session / "aiop" / "aiop.json")
    run = doc["evidence"]["run"]
    assert run["status"] == "failed" and run["exit_code"] == 2 and run["failed_step"] is None
    assert doc["evidence"]["errors"][-1]["id"] == "error:run"
    first = doc["narrative"]["sentences"][0]["text"]
    assert "failed" in first and "(exit code 2)" in first
    assert any(
        s["text"].startswith("The run failed without a step error:")
        for s in doc["narrative"]["sentences"]
    )


def test_the_checker_refuses_a_citation_to_nothing(tmp_path):
    result = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    doc = json.loads((result.session_dir / "aiop" / "aiop.json").read_text())
    doc["narrative"]["sentences"][0]["cites"].append("ev:99999")
    broken = tmp_path / "broken" / "aiop.json"
    broken.parent.mkdir()
    broken.write_text(json.dumps(doc))
    with pytest.raises(AssertionError, match=r"unknown evidence \['ev:99999'\]"):
        assert_aiop_valid(broken)
    broken.unlink()  # the suite's final check validates every aiop.json left behind


@pytest.mark.parametrize("rows", [[], [{"id": "ev:1"}], [{"a": "é", "b": [1, 2]}, {"c": None}]])
def test_the_cut_measures_a_timeline_exactly_as_it_is_written(rows):
    from osiris.report.aiop import _layout, compact, layout_list_bytes

    expected = len(_layout(rows, 2).encode("utf-8"))
    assert layout_list_bytes([len(compact(r).encode("utf-8")) for r in rows], 2) == expected
