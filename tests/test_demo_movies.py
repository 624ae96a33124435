"""The bundled movies demo, end to end through the CLI: exact rows, exact types, stable bytes."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from osiris.cli.main import cli
from osiris.testing.session_checks import assert_session_valid

DEMO = Path(__file__).resolve().parents[1] / "examples" / "movies"

DIRECTOR_STATS_CSV = """\
"director_id","director","country","movies","total_budget_usd","first_release","latest_release","reviews","avg_rating"
1,"Ingrid Halvorsen","Norway",4,406700249.50,2001-06-19,2024-01-13,6,5.25
2,"Tomás Echeverría","Chile",4,156900100.49,2004-11-04,2024-11-24,8,4.19
3,"Amara Okafor","Nigeria",4,409400298.75,2002-03-24,2019-08-10,6,7.00
4,"Jiří Dvořák","Czechia",4,462400250.73,2005-02-04,2024-09-09,2,7.50
5,"Mei-Ling Zhou","Taiwan",4,189900100.49,1995-08-02,2023-04-04,7,5.71
6,"Béatrice Lefèvre","France",4,499500149.75,2003-09-06,2019-03-21,12,6.50
7,"Kenji Watanabe","Japan",3,265800150.98,1997-10-14,2017-08-04,9,6.72
8,"Sofia Marchetti","Italy",3,304600099.75,2001-12-05,2017-04-28,7,6.21
9,"Dmitri Volkov","Georgia",3,284000050.50,1996-07-19,2021-04-18,8,5.56
10,"Zoë O'Connell","Ireland",3,21700000.99,1996-07-04,2003-11-05,7,6.64
"""

TOP_RATED_HEAD = [
    '"rank","title","director","release_date","genre","avg_rating","reviews","latest_review_at","budget_usd","cast_list"',
    '1,"The Last Lighthouse","Sofia Marchetti",2001-12-05,"Comedy",8.25,4,2024-08-01 09:36:00.000000Z,152100000.25,"Bao Nguyễn, Tanvi Iyer, Rosa García, Chloé Moreau"',
    '2,"The Hidden Harbor","Kenji Watanabe",2012-06-01,"Thriller",8.10,5,2024-10-08 06:20:00.000000Z,55500050.99,"Olu Adeyemi, Eleni Papadopoulou, Ximena Ortega"',
]

OUTPUTS = ("director_stats.parquet", "director_stats.csv", "top_rated.parquet", "top_rated.csv")


@pytest.fixture
def demo_copy(tmp_path, monkeypatch):
    """The demo's pipeline and data in a scratch directory; the cwd is elsewhere on purpose."""
    project = tmp_path / "movies"
    project.mkdir()
    shutil.copy(DEMO / "pipeline.yaml", project)
    shutil.copytree(DEMO / "data", project / "data")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in ("OSIRIS_LOGS_DIR", "OSIRIS_HOME", "OSIRIS_LOAD_PLUGINS", "OSIRIS_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    return project


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_demo_runs_and_writes_exact_outputs(demo_copy):
    result = _run("run", str(demo_copy / "pipeline.yaml"))
    assert result.exit_code == 0, result.output
    assert "11 steps (11 succeeded)" in result.output
    sessions = sorted((Path.cwd() / "logs").iterdir())
    assert len(sessions) == 1 and f"Session: logs/{sessions[0].name}" in result.output
    status = assert_session_valid(sessions[0])
    assert status["ok"] is True

    out = demo_copy / "output"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    assert (out / "director_stats.csv").read_text(encoding="utf-8") == DIRECTOR_STATS_CSV
    top_csv = (out / "top_rated.csv").read_text(encoding="utf-8").splitlines()
    assert top_csv[:3] == TOP_RATED_HEAD and len(top_csv) == 11

    stats = pq.read_table(out / "director_stats.parquet")
    assert stats.schema == pa.schema(
        [
            ("director_id", pa.int64()),
            ("director", pa.string()),
            ("country", pa.string()),
            ("movies", pa.int64()),
            ("total_budget_usd", pa.decimal128(38, 2)),
            ("first_release", pa.date32()),
            ("latest_release", pa.date32()),
            ("reviews", pa.int64()),
            ("avg_rating", pa.decimal128(4, 2)),
        ]
    )
    assert stats.num_rows == 10
    assert stats.column("total_budget_usd").to_pylist()[3] == Decimal("462400250.73")

    top = pq.read_table(out / "top_rated.parquet")
    assert top.schema.field("latest_review_at").type == pa.timestamp("us", tz="UTC")
    assert top.schema.field("budget_usd").type == pa.decimal128(14, 2)
    rows = top.to_pylist()
    assert [r["rank"] for r in rows] == list(range(1, 11))
    assert rows[0]["latest_review_at"] == dt.datetime(2024, 8, 1, 9, 36, tzinfo=dt.UTC)
    assert rows[0]["release_date"] == dt.date(2001, 12, 5)
    assert rows[6]["title"] == "The Last Orchard" and rows[6]["budget_usd"] is None
    assert rows[7]["title"] == "夏の終わり (End of Summer)"
    assert all(r["reviews"] >= 3 for r in rows)


def test_demo_outputs_are_byte_identical_across_runs(demo_copy):
    assert _run("run", str(demo_copy / "pipeline.yaml")).exit_code == 0
    first = {name: (demo_copy / "output" / name).read_bytes() for name in OUTPUTS}
    assert _run("run", str(demo_copy / "pipeline.yaml")).exit_code == 0
    assert {name: (demo_copy / "output" / name).read_bytes() for name in OUTPUTS} == first


def test_demo_params_change_the_ranking(demo_copy):
    result = _run(
        "run", str(demo_copy / "pipeline.yaml"), "--param", "top_n=3", "--param", "min_reviews=5"
    )
    assert result.exit_code == 0, result.output
    top = pq.read_table(demo_copy / "output" / "top_rated.parquet").to_pylist()
    assert [(r["title"], r["reviews"]) for r in top] == [
        ("The Hidden Harbor", 5),
        ("The Paper Echo", 5),
        ("夏の終わり (End of Summer)", 5),
    ]


def test_demo_through_the_installed_command(demo_copy):
    """What scripts/demo.sh does: the real `osiris` entry point, from the demo's directory."""
    osiris = Path(sys.executable).with_name("osiris")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSIRIS_")}
    proc = subprocess.run(
        [str(osiris), "run", "pipeline.yaml"],
        cwd=demo_copy,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Run succeeded: movies-demo" in proc.stdout
    assert "Session: logs/run_" in proc.stdout
    assert (demo_copy / "output" / "director_stats.csv").read_text(
        encoding="utf-8"
    ) == DIRECTOR_STATS_CSV
