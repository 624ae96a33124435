"""Incremental loads through `osiris run --e2b` (the real `e2b` SDK against the local
envd-compatible server): the host reads the mark, hands it to the worker in run_options.json,
the worker's extractor reports the new mark as an event, the host stores it; then a local run
continues from the same mark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import test_incremental_mysql as mysql_incremental
from tests.test_incremental_mysql import cli, one

pytestmark = pytest.mark.mysql
inc = mysql_incremental.inc  # the MariaDB project fixture


@pytest.fixture
def e2b(tmp_path, monkeypatch, tmp_path_factory):
    pytest.importorskip("osiris_remote_e2b")
    from e2b_local import local_e2b

    cache = tmp_path_factory.getbasetemp() / "wheels"
    monkeypatch.setenv("OSIRIS_E2B_WHEEL_CACHE_DIR", str(cache))
    with local_e2b(tmp_path / "sandbox-home", monkeypatch, debug=False) as local:
        yield local


def remote(path: Path) -> list[dict]:
    result = cli("run", str(path), "--e2b", "--e2b-allow-local-hosts", "--json")
    assert result.exit_code == 0, result.output
    session = Path(json.loads(result.stdout)["session_dir"])
    return [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]


def test_marks_travel_to_the_sandbox_and_back(inc, e2b):
    # As the parity suite writes it: a literal empty password does not reach the sandbox today.
    connections = inc.work / "osiris_connections.yaml"
    connections.write_text(
        connections.read_text().replace("password: ''", "password: ${MYSQL_E2E_PASSWORD:-}")
    )
    path = inc.pipeline("{cursor: updated_at}")
    events = remote(path)
    assert one(events, "incremental_mark")["rows"] == 3
    assert one(events, "state_commit")["value"] == "2026-01-02T08:00:00.000000"
    inc.sql(
        "INSERT INTO orders VALUES (4, 40.00, 'd', '2026-01-03 00:00:00')",
        "UPDATE orders SET amount = 21.00, updated_at = '2026-01-03 00:00:01' WHERE id = 2",
    )
    events = remote(path)
    assert one(events, "state_read")["value"] == "2026-01-02T08:00:00.000000"
    assert one(events, "incremental_start")["bound"] == "2026-01-02T08:00:00.000000"
    assert one(events, "incremental_mark")["rows"] == 2
    assert one(events, "state_commit")["value"] == "2026-01-03T00:00:01.000000"
    assert inc.same_as_source()
    local = cli("run", str(path), "--json")
    session = Path(json.loads(local.stdout)["session_dir"])
    lines = (session / "events.jsonl").read_text().splitlines()
    assert one([json.loads(x) for x in lines], "state_kept")["reason"] == "no rows past the mark"
