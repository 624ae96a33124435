"""Sessions: ids, where they go, masked writers, status.json, and the published schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from osiris.masking import Masker
from osiris.session import Session, new_session_id, resolve_logs_dir
from osiris.session.paths import SESSION_ID, session_time
from osiris.testing.session_checks import assert_session_valid, line_problems

REPO = Path(__file__).resolve().parents[2]


def test_session_ids_are_sortable_and_parse_back():
    early = new_session_id(now=datetime(2026, 11, 22, 4, 15, tzinfo=UTC))
    late = new_session_id(now=datetime(2026, 11, 22, 4, 16, tzinfo=UTC))
    assert SESSION_ID.match(early) and early.startswith("run_20261122T041500Z_")
    assert sorted([late, early]) == [early, late]
    assert session_time(early) == datetime(2026, 11, 22, 4, 15, tzinfo=UTC)
    assert session_time("not-a-session") is None


def test_logs_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("OSIRIS_LOGS_DIR", raising=False)
    assert resolve_logs_dir() == Path("logs")
    monkeypatch.setenv("OSIRIS_LOGS_DIR", str(tmp_path / "env"))
    assert resolve_logs_dir() == tmp_path / "env"
    assert resolve_logs_dir(tmp_path / "opt") == tmp_path / "opt"


def _finished_session(tmp_path, secret):
    session = Session(tmp_path, masker=Masker([secret], ["password"]), pipeline="p")
    session.event("run_start", source=f"dsn://u:{secret}@h", adapter="local")
    session.event("step_start", step_id="a", component="c.x", mode="extract")
    session.event("custom_driver_event", step_id="a", password="plain", note=secret)
    session.metric("rows_read", 3, "rows", step_id="a")
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError as exc:
        session.log_exception("step a failed", exc)
    session.metric("total_duration_ms", 5, "ms")
    session.event("run_complete", ok=True, duration_ms=5, succeeded=1, failed=0, skipped=0)
    status = session.write_status(
        ok=True,
        steps={"a": {"status": "succeeded", "rows": 3, "duration_ms": 1, "error": None}},
        error=None,
    )
    session.close()
    return session, status


def test_every_writer_masks_and_the_session_validates(tmp_path):
    secret = "hunter2-secret"
    session, status = _finished_session(tmp_path, secret)
    assert assert_session_valid(session.dir, secrets=[secret, "plain"]) == status
    events = [json.loads(x) for x in (session.dir / "events.jsonl").read_text().splitlines()]
    assert events[0]["source"] == "dsn://u:***@h"
    assert events[2]["password"] == "***" and events[2]["note"] == "***"
    assert list(events[0])[:3] == ["ts", "session", "event"]
    log = (session.dir / "osiris.log").read_text()
    assert "RuntimeError: failed with ***" in log and "step_start" in log
    assert status["ok"] is True and status["error"] is None
    assert set(status) == {
        "ok",
        "session",
        "pipeline",
        "started_at",
        "finished_at",
        "duration_ms",
        "steps",
        "error",
    }
    assert (
        not (session.dir / "artifacts").exists()
        or list((session.dir / "artifacts").iterdir()) == []
    )


def test_session_id_is_never_masked(tmp_path):
    session = Session(tmp_path)
    session.masker.add_secrets([session.id[4:12]])  # a secret that happens to be inside the id
    session.event("run_start", source=None, adapter="local")
    record = json.loads((session.dir / "events.jsonl").read_text())
    assert record["session"] == session.id
    assert (
        json.loads(
            session.write_status(ok=False, steps={}, error="x")
            and (session.dir / "status.json").read_text()
        )["session"]
        == session.id
    )
    session.close()


def test_schema_rejects_bad_lines(tmp_path):
    path = tmp_path / "bad.jsonl"  # not events.jsonl: the suite-wide check must not see it
    path.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "ts": "2026-11-22T04:15:00.000Z",
                        "session": "run_20261122T041500Z_ab12cd",
                        "event": "step_complete",
                        "step_id": "a",
                        "rows": -1,
                        "duration_ms": 3,
                        "output": "streamed",
                    }
                ),
                json.dumps({"ts": "yesterday", "session": "x", "event": "run_start"}),
                json.dumps(
                    {
                        "ts": "2026-11-22T04:15:00.000Z",
                        "session": "run_20261122T041500Z_ab12cd",
                        "event": "driver_thing",
                    }
                ),
            ]
        )
    )
    problems = line_problems(path, "events")
    assert any(":1: rows:" in p for p in problems)
    assert any(":2: ts:" in p for p in problems) and any(":2: session:" in p for p in problems)
    assert any(":3:" in p and "step_id" in p for p in problems)


@pytest.mark.parametrize("name", ["events.schema.json", "metrics.schema.json"])
def test_published_schemas_match_the_packaged_ones(name):
    docs = REPO / "docs" / "reference" / name
    packaged = REPO / "osiris-core" / "src" / "osiris" / "schemas" / name
    assert json.loads(docs.read_text()) == json.loads(packaged.read_text())


def test_every_schema_event_is_documented():
    text = (REPO / "docs" / "reference" / "events.md").read_text()
    schema = json.loads((REPO / "docs" / "reference" / "events.schema.json").read_text())
    names = [part["if"]["properties"]["event"].get("const") for part in schema["allOf"]]
    for name in filter(None, names):
        assert f"`{name}`" in text, name
    metrics = json.loads((REPO / "docs" / "reference" / "metrics.schema.json").read_text())
    for part in metrics["allOf"]:
        assert f"`{part['if']['properties']['metric']['const']}`" in text
