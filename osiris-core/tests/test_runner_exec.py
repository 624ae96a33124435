"""The step executor through the local adapter: Arrow edges, outcomes, events and status."""

from __future__ import annotations

import gc
import json
import threading

import pytest
from osiris.runner.run import run_manifest
from osiris.testing.session_checks import assert_session_valid


def _run(kit, tmp_path, steps, **options):
    manifest = kit.write_manifest(tmp_path / "compiled", steps)
    result = run_manifest(manifest, logs_dir=tmp_path / "logs", registry=kit.registry(), **options)
    status = assert_session_valid(result.session_dir, secrets=[kit.SECRET])
    events = [json.loads(x) for x in (result.session_dir / "events.jsonl").read_text().splitlines()]
    return result, status, events


def _metrics(result, name):
    lines = (result.session_dir / "metrics.jsonl").read_text().splitlines()
    return {m.get("step_id"): m["value"] for m in map(json.loads, lines) if m["metric"] == name}


def test_extract_transform_write_streams_all_rows(runner_kit, tmp_path):
    result, status, events = _run(runner_kit, tmp_path, runner_kit.chain(3, rows=12_345))
    assert result.ok and result.exit_code == 0
    assert runner_kit.SEEN["s2"]["rows"] == 12_345
    assert (result.session_dir / "artifacts" / "s2" / "count.txt").read_text() == "12345"
    assert {k: v["status"] for k, v in status["steps"].items()} == {
        "s0": "succeeded",
        "s1": "succeeded",
        "s2": "succeeded",
    }
    assert [status["steps"][k]["rows"] for k in ("s0", "s1", "s2")] == [12_345] * 3
    assert _metrics(result, "rows_read") == {"s0": 12_345}
    assert _metrics(result, "rows_written") == {"s2": 12_345}
    assert set(_metrics(result, "step_duration_ms")) == {"s0", "s1", "s2"}
    assert "total_duration_ms" in {
        json.loads(x)["metric"]
        for x in (result.session_dir / "metrics.jsonl").read_text().splitlines()
    }
    # Lazy streams: the extractor completes only after its consumer has read everything,
    # so its completion comes after the writer started pulling.
    order = [(e["event"], e.get("step_id")) for e in events]
    assert order.index(("step_start", "s2")) < order.index(("step_complete", "s0"))
    assert order.index(("step_complete", "s0")) < order.index(("step_complete", "s2"))
    complete = {e["step_id"]: e for e in events if e["event"] == "step_complete"}
    assert complete["s0"]["output"] == "streamed" and complete["s2"]["output"] == "none"
    names = [e["event"] for e in events]
    for name in (
        "run_start",
        "adapter_selected",
        "adapter_prepare_start",
        "adapter_prepare_complete",
        "adapter_execute_complete",
        "run_complete",
    ):
        assert name in names
    assert (result.session_dir / "manifest.yaml").is_file()
    assert (result.session_dir / "cfg" / "s0.json").is_file()


@pytest.mark.parametrize("pandas", [False, True])
def test_table_and_dataframe_outputs_are_accepted(runner_kit, tmp_path, pandas):
    if pandas:
        pytest.importorskip("pandas")
    steps = [
        {"id": "src", "component": "kit.table", "config": {"pandas": pandas}},
        {"id": "sink", "component": "kit.counter", "needs": ["src"]},
    ]
    result, status, _ = _run(runner_kit, tmp_path, steps)
    assert result.ok and status["steps"]["src"]["rows"] == 3
    assert runner_kit.SEEN["sink"]["rows"] == 3


def test_output_without_consumer_is_drained(runner_kit, tmp_path):
    steps = [{"id": "lonely", "component": "kit.synthetic", "config": {"rows": 2500}}]
    result, status, events = _run(runner_kit, tmp_path, steps)
    assert result.ok and status["steps"]["lonely"]["rows"] == 2500
    done = next(e for e in events if e["event"] == "step_complete")
    assert done["output"] == "drained"
    assert _metrics(result, "rows_read") == {"lonely": 2500}


def test_fan_out_spills_once_and_both_consumers_get_every_row(runner_kit, tmp_path):
    steps = [
        {"id": "src", "component": "kit.synthetic", "config": {"rows": 50_000, "batch_size": 4096}},
        {"id": "a", "component": "kit.counter", "needs": ["src"], "config": {"check_spill": True}},
        {"id": "b", "component": "kit.counter", "needs": ["src"], "config": {"check_spill": True}},
    ]
    result, status, events = _run(runner_kit, tmp_path, steps)
    assert result.ok
    assert runner_kit.SEEN["a"]["rows"] == runner_kit.SEEN["b"]["rows"] == 50_000
    assert runner_kit.SEEN["a.spills"] == ["src.arrow"]  # under <session>/spill while running
    spilled = next(e for e in events if e["event"] == "step_complete" and e["step_id"] == "src")
    assert spilled["output"] == "spilled" and spilled["spill"] == "spill/src.arrow"
    assert status["steps"]["src"]["rows"] == 50_000
    assert not (result.session_dir / "spill").exists()  # removed when the run ends


def test_two_inputs_arrive_named_after_their_steps(runner_kit, tmp_path):
    steps = [
        {"id": "left-src", "component": "kit.synthetic", "config": {"rows": 10}},
        {"id": "right.src", "component": "kit.table"},
        {"id": "both", "component": "kit.counter", "needs": ["left-src", "right.src"]},
    ]
    result, _, _ = _run(runner_kit, tmp_path, steps)
    assert result.ok
    assert runner_kit.SEEN["both"] == {
        **runner_kit.SEEN["both"],
        "rows": 13,
        "inputs": ["df_left_src", "df_right_src"],
    }


def test_branches_overlap(runner_kit, tmp_path):
    """Both extractors, then both writers, wait on a barrier: it only opens if they run at once.

    With streaming, the extractors' rows are produced while the writers pull, so the writers
    overlapping is what makes the branches' data movement concurrent.
    """
    runner_kit.BARRIERS["extract"] = threading.Barrier(2, timeout=20)
    runner_kit.BARRIERS["write"] = threading.Barrier(2, timeout=20)
    steps = [
        {"id": "e1", "component": "kit.synthetic", "config": {"rows": 100, "barrier": "extract"}},
        {"id": "e2", "component": "kit.synthetic", "config": {"rows": 200, "barrier": "extract"}},
        {"id": "w1", "component": "kit.counter", "needs": ["e1"], "config": {"barrier": "write"}},
        {"id": "w2", "component": "kit.counter", "needs": ["e2"], "config": {"barrier": "write"}},
    ]
    result, _, _ = _run(runner_kit, tmp_path, steps, max_workers=2)
    assert result.ok, result.error
    assert (runner_kit.SEEN["w1"]["rows"], runner_kit.SEEN["w2"]["rows"]) == (100, 200)
    assert runner_kit.SEEN["w1"]["thread"] != runner_kit.SEEN["w2"]["thread"]


def test_failure_in_one_branch_is_reported_with_the_other_branch_success(runner_kit, tmp_path):
    runner_kit.BARRIERS["fail"] = threading.Barrier(2, timeout=20)
    steps = [
        {"id": "good", "component": "kit.synthetic", "config": {"rows": 300, "barrier": "fail"}},
        {
            "id": "bad",
            "component": "kit.synthetic",
            "config": {"barrier": "fail", "fail": "cannot reach the source"},
        },
        {"id": "good_sink", "component": "kit.counter", "needs": ["good"]},
        {"id": "bad_sink", "component": "kit.counter", "needs": ["bad"]},
        {"id": "after_bad", "component": "kit.counter", "needs": ["bad_sink"]},
    ]
    result, status, events = _run(runner_kit, tmp_path, steps, max_workers=2)
    assert not result.ok and result.exit_code == 1
    outcome = {k: v["status"] for k, v in status["steps"].items()}
    assert outcome == {
        "good": "succeeded",
        "bad": "failed",
        "good_sink": "succeeded",
        "bad_sink": "skipped",
        "after_bad": "skipped",
    }
    assert status["steps"]["good_sink"]["rows"] == 300
    assert status["steps"]["bad"]["error"] == (
        "Step 'bad' failed: RuntimeError: cannot reach the source"
    )
    assert status["error"].startswith("Step 'bad' failed: RuntimeError: cannot reach the source")
    assert "(1 failed, 2 skipped)" in status["error"]
    skipped = {e["step_id"]: e["reason"] for e in events if e["event"] == "step_skipped"}
    assert skipped == {
        "bad_sink": "upstream step 'bad' did not succeed",
        "after_bad": "upstream step 'bad_sink' did not succeed",
    }
    log = (result.session_dir / "osiris.log").read_text()
    assert "Traceback" in log and "RuntimeError: cannot reach the source" in log
    assert "Traceback" not in (result.session_dir / "events.jsonl").read_text()


def test_stream_breaking_mid_way_fails_the_producer_not_the_consumer(runner_kit, tmp_path):
    steps = [
        {
            "id": "src",
            "component": "kit.synthetic",
            "config": {"rows": 10_000, "batch_size": 1000, "fail_at": 5000},
        },
        {"id": "mid", "component": "kit.passthrough", "needs": ["src"]},
        {"id": "sink", "component": "kit.counter", "needs": ["mid"]},
    ]
    result, status, _ = _run(runner_kit, tmp_path, steps)
    assert result.exit_code == 1
    assert {k: v["status"] for k, v in status["steps"].items()} == {
        "src": "failed",
        "mid": "skipped",
        "sink": "skipped",
    }
    assert status["steps"]["src"]["error"] == (
        "Step 'src' failed: ValueError: synthetic source broke at row 5000"
    )


def test_a_stream_its_consumer_abandoned_is_closed_when_the_run_ends(runner_kit, tmp_path):
    """Not at garbage collection: an extractor's connection must not outlive the run."""
    steps = [
        {"id": "src", "component": "kit.synthetic", "config": {"rows": 10_000, "batch_size": 100}},
        {
            "id": "sink",
            "component": "kit.counter",
            "needs": ["src"],
            "config": {"fail_after": 250, "keep_inputs": True},
        },
    ]
    runner_kit.SEEN.pop("src.closed", None)
    gc.disable()
    try:
        result, status, _ = _run(runner_kit, tmp_path, steps)
        closed = runner_kit.SEEN.get("src.closed")
    finally:
        gc.enable()
    assert closed is not None and closed < 10_000
    assert result.exit_code == 1 and status["steps"]["sink"]["status"] == "failed"


def test_step_error_passes_through_as_is(runner_kit, tmp_path):
    steps = [
        {"id": "src", "component": "kit.synthetic", "config": {"rows": 100}},
        {"id": "sink", "component": "kit.counter", "needs": ["src"], "config": {"fail_after": 10}},
    ]
    result, status, _ = _run(runner_kit, tmp_path, steps)
    assert status["steps"]["sink"] == {
        **status["steps"]["sink"],
        "status": "failed",
        "error": "Step 'sink': target refused row 100.",
    }
    # the writer stopped reading; its producer ends with what flowed
    assert status["steps"]["src"]["status"] == "succeeded"
    assert result.exit_code == 1


def test_unknown_component_is_invalid_input(runner_kit, tmp_path):
    steps = [{"id": "x", "component": "kit.nope"}]
    result, status, events = _run(runner_kit, tmp_path, steps)
    assert result.exit_code == 2 and not status["ok"]
    assert status["error"].startswith("Step 'x': Unknown component 'kit.nope'.")
    assert "step_start" not in [e["event"] for e in events]
    assert status["steps"]["x"]["status"] == "skipped"


def test_twenty_step_chain(runner_kit, tmp_path):
    result, status, _ = _run(runner_kit, tmp_path, runner_kit.chain(20, rows=777), max_workers=1)
    assert result.ok
    assert all(s["rows"] == 777 for s in status["steps"].values())
    assert len(status["steps"]) == 20


def test_stream_published_after_its_consumer_was_skipped_does_not_hang(runner_kit, tmp_path):
    """'join' is skipped (bad failed) before 'slow' hands over its stream: the run still ends."""
    from osiris.runner.run import open_session, run_in_session

    skipped = runner_kit.EVENTS["join_skipped"] = threading.Event()

    def listen(kind, record):
        if record.get("event") == "step_skipped" and record.get("step_id") == "join":
            skipped.set()

    steps = [
        {"id": "bad", "component": "kit.synthetic", "config": {"fail": "early"}},
        {"id": "slow", "component": "kit.synthetic", "config": {"wait_for": "join_skipped"}},
        {"id": "join", "component": "kit.counter", "needs": ["slow", "bad"]},
    ]
    manifest = runner_kit.write_manifest(tmp_path / "compiled", steps)
    session = open_session(tmp_path / "logs", listeners=(listen,))
    result = run_in_session(session, manifest, registry=runner_kit.registry(), max_workers=2)
    status = assert_session_valid(result.session_dir)
    assert {k: v["status"] for k, v in status["steps"].items()} == {
        "bad": "failed",
        "slow": "succeeded",
        "join": "skipped",
    }
    assert status["steps"]["slow"]["rows"] == 0  # nobody read it
