"""``osiris logs html``: self-contained pages of real sessions (structure; see test_report_browser
for the pages in a real Chromium)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import report_testkit as rk
from click.testing import CliRunner
from osiris.cli.main import cli
from osiris.report.dag import layout
from osiris.report.html import render_session
from osiris.report.model import load_session
from osiris.report.timeline import max_parallel
from osiris.testing.session_checks import assert_no_secrets

SVG_NS = "http://www.w3.org/2000/svg"
HOSTILE = "</script><script>window.pwned=1</script><b>bold</b>"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("OSIRIS_HOME", "REPORT_ROWS", "OSIRIS_LOGS_DIR"):
        monkeypatch.delenv(name, raising=False)


def assert_self_contained(html: str) -> None:
    """Nothing that a browser would fetch: no external URL, stylesheet link, src or url()."""
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) <= {SVG_NS}
    assert not re.search(r"<link\b|\ssrc\s*=|@import|url\((?!#)", html, re.IGNORECASE)
    assert html.count("<style>") == 1 and html.count("<script>") == 1


def test_run_page_shows_the_run(tmp_path):
    result = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    html = render_session(load_session(result.session_dir))
    assert_self_contained(html)
    for step in ("read-a", "read-b", "write-a", "write-b", "count-b"):
        assert f'id="step-{step}"' in html and f'href="#step-{step}"' in html  # table and DAG
    assert '<td class="num rows-out">1,234</td>' in html
    assert '<th class="num">verified</th>' in html  # rows_verified reported by write-a
    assert 'class="badge env local"' in html and 'id="run-status">succeeded<' in html
    assert 'id="failure"' not in html
    view = load_session(result.session_dir)
    assert view.manifest_fp and view.manifest_fp in html
    assert "copy both sources into the warehouse" in html  # the OML, with the chat's intent
    assert html.count('class="gantt-row status-succeeded"') == 5
    assert 'id="events-data"' in html and "step_complete" in html


def test_failed_run_page_puts_the_failing_step_first(tmp_path):
    result = rk.compile_and_run(rk.branches_oml(tmp_path, fail=HOSTILE), tmp_path / "logs")
    html = render_session(load_session(result.session_dir))
    assert_self_contained(html)
    failure = html.index('id="failure"')
    assert failure < html.index('id="summary"') < html.index('id="steps"')
    assert '<a href="#step-read-b" id="failed-step">read-b</a>' in html
    assert "Skipped because of it: write-b, count-b" in html
    assert 'class="dag-node status-failed"' in html and 'class="dag-node status-skipped"' in html
    assert html.count("skipped: never started") == 2  # listed under the timeline's bars
    # the error text is shown, never interpreted
    assert "<script>window.pwned" not in html and "&lt;/script&gt;&lt;script&gt;" in html
    assert 'id="run-status">failed<' in html and "exit code <b>1</b>" in html


def test_dag_layout_columns_follow_the_dependencies(tmp_path):
    result = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    placed, width, height = layout(load_session(result.session_dir).steps)
    x = {p.step.id: p.x for p in placed}
    assert x["read-a"] == x["read-b"] < x["write-a"] == x["write-b"] == x["count-b"]
    y = {p.step.id: p.y for p in placed}
    assert len(set(y.values())) >= 3 and width > 0 and height > 0
    assert layout(load_session(result.session_dir).steps) == (placed, width, height)


def test_max_parallel_counts_overlaps():
    assert max_parallel([(0, 10), (5, 15), (10, 20)]) == 2
    assert max_parallel([(0, 10), (10, 20)]) == 1  # one ends as the other starts
    assert max_parallel([]) == 0


def test_chat_and_unfinished_sessions_get_a_page():
    with rk.chat_session() as session:
        html = render_session(load_session(session.dir))
    assert_self_contained(html)
    assert 'id="conversation"' in html and "copy movies to supabase" in html
    assert "Here is a pipeline." in html and "tool · discover" in html
    assert "Proposed pipeline" in html and "name: movies" in html
    assert 'id="run-status">open<' in html and 'id="steps"' not in html


def test_cli_writes_every_page_and_the_index(tmp_path):
    first = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    second = rk.compile_and_run(rk.branches_oml(tmp_path, fail="boom"), tmp_path / "logs")
    runner = CliRunner()
    result = runner.invoke(cli, ["logs", "html", "--logs-dir", "logs"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "logs" / "html"
    assert result.output.splitlines() == [
        f"Wrote 2 session page(s) and {Path('logs/html/index.html')}.",
        str(Path("logs/html/index.html")),
    ]
    index = (out / "index.html").read_text()
    assert_self_contained(index)
    for run in (first, second):
        assert (out / f"{run.session_id}.html").is_file()
        assert f'href="{run.session_id}.html"' in index
    assert "<td class='err'>read-b</td>" in index  # the failed run names its failing step
    one = runner.invoke(
        cli, ["logs", "html", "last", "--logs-dir", "logs", "--out", "site", "--open"]
    )
    assert one.exit_code == 0  # not a terminal: --open only prints the path
    assert one.output == f"{Path('site') / (second.session_id + '.html')}\n"
    assert (tmp_path / "site" / "index.html").is_file()
    assert f'href="{first.session_id}.html"' not in (tmp_path / "site" / "index.html").read_text()


def test_open_on_a_terminal_uses_the_default_browser(tmp_path):
    """Under a pseudo-terminal `--open` calls webbrowser, which runs $BROWSER with the file URL."""
    import pty
    import subprocess

    rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(BROWSER=str(browser), OSIRIS_LOGS_DIR=str(tmp_path / "logs"))
    osiris = Path(sys.executable).with_name("osiris")
    primary, secondary = pty.openpty()
    proc = subprocess.run(
        [str(osiris), "logs", "html", "last", "--open"],
        stdin=secondary,
        stdout=secondary,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    os.close(secondary)
    os.close(primary)
    assert proc.returncode == 0, proc.stderr
    url = opened.read_text().strip()
    assert url.startswith("file://") and url.endswith(".html")
    assert Path(url.removeprefix("file://")).is_file()


def test_planted_secret_reaches_no_page(tmp_path, monkeypatch, runner_kit):
    from osiris.compiler import compile_pipeline
    from osiris.runner.run import run_manifest

    monkeypatch.setenv("KIT_PASSWORD", runner_kit.SECRET)
    (tmp_path / "osiris_connections.yaml").write_text(
        "version: 1\nconnections:\n  kitdb:\n    main:\n      host: localhost\n"
        "      user: reader\n      password: ${KIT_PASSWORD}\n"
    )
    (tmp_path / "leaky.yaml").write_text(
        'oml_version: "0.1.0"\nname: leaky\nsteps:\n'
        '  - {id: leak, component: kit.leaky, mode: read, config: {connection: "@kitdb.main", fail: true}}\n'
    )
    reg = runner_kit.registry()
    compiled = compile_pipeline(tmp_path / "leaky.yaml", tmp_path / "build", registry=reg)
    run_manifest(compiled.manifest_path, logs_dir=tmp_path / "logs", registry=reg)
    result = CliRunner().invoke(cli, ["logs", "html", "--logs-dir", "logs", "--out", "site"])
    assert result.exit_code == 0, result.output
    page = next((tmp_path / "site").glob("run_*.html")).read_text()
    assert "login failed for password ***" in page
    assert_no_secrets(tmp_path / "site", [runner_kit.SECRET], [result.output])


def test_remote_run_shows_the_e2b_badge_and_sandbox_details():
    """The e2b adapter's own events (declared by osiris-remote-e2b) become the sandbox details;
    the session lives outside pytest's tmp folders, whose event lines core's schema checks."""
    import shutil
    import tempfile

    from osiris.report.export import build_package
    from osiris.session import Session

    root = Path(tempfile.mkdtemp(prefix="osiris-report-e2b-"))
    try:
        session = Session(root)
        session.event("run_start", source="p.yaml", adapter="e2b")
        session.event(
            "adapter_selected",
            adapter="e2b",
            pipeline="p",
            distribution="osiris-remote-e2b",
            max_workers=2,
        )
        session.event(
            "sandbox_created", sandbox_id="sbx-42", template="osiris-py311", duration_ms=812
        )
        session.event("upload_complete", files=3, bytes=20480, duration_ms=95)
        session.event("step_start", step_id="s", component="kit.table", mode="extract")
        session.event("step_complete", step_id="s", rows=3, duration_ms=5, output="drained")
        session.event("sandbox_closed", sandbox_id="sbx-42", duration_ms=40)
        session.event("run_complete", ok=True, duration_ms=1200, succeeded=1, failed=0, skipped=0)
        session.write_status(ok=True, steps={"s": {"status": "succeeded", "rows": 3}}, error=None)
        session.close()
        html = render_session(load_session(session.dir))
        assert 'class="badge env e2b"' in html and "osiris-remote-e2b" in html
        sandbox = html[html.index("<h2 style='margin-top:12px'>Sandbox</h2>") :]
        assert "sandbox_created" in sandbox and "sbx-42" in sandbox and "osiris-py311" in sandbox
        options = {"max_core_bytes": 300_000, "annex": False, "annex_gzip": False, "runcard": True}
        package = build_package(session.dir, options=options)
        env = package.doc["evidence"]["environment"]
        assert env["adapter"] == "e2b"
        assert [d["event"] for d in env["details"]] == [
            "sandbox_created",
            "upload_complete",
            "sandbox_closed",
        ]
        assert env["details"][0]["sandbox_id"] == "sbx-42" and env["details"][0]["id"] == "ev:3"
        assert "on the e2b adapter" in package.doc["narrative"]["summary"]
        assert "adapter **e2b**" in package.runcard_text
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def outside_tmp():
    """A logs folder outside pytest's tmp folders (whose event lines core's conftest checks):
    for sessions other packages will write, or broken on purpose."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="osiris-report-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_discovery_session_gets_its_section(outside_tmp, tmp_path):
    from osiris.session import Session

    session = Session(outside_tmp, kind="discovery")
    session.event("discover_start", connection="@mysql.movies")
    session.event("discover_table", table="movies", columns=9, rows=36)
    session.event("discover_complete", tables=1, duration_ms=120)
    session.close()
    html = render_session(load_session(session.dir))
    assert_self_contained(html)
    section = html[html.index('id="discovery"') :]
    assert "discover_table" in section and "&quot;table&quot;: &quot;movies&quot;" in section
    assert 'class="badge kind">discovery<' in html


def test_a_broken_session_still_gets_a_page_and_an_aiop(outside_tmp, tmp_path):
    from osiris.report.export import build_package
    from osiris.testing.session_checks import assert_aiop_valid

    result = rk.compile_and_run(rk.branches_oml(tmp_path), outside_tmp)
    session = result.session_dir
    with (session / "events.jsonl").open("a", encoding="utf-8") as events:
        events.write('{"ts": "2026-12-02T00:00:00.000Z", "event": "step_sta')  # a torn line
    (session / "status.json").write_text("{not json")
    (session / "manifest.yaml").write_bytes(b"\xff\xfe not yaml: [")
    html = render_session(load_session(session))
    assert 'id="run-status">unfinished<' in html and "read-b" in html
    options = {"max_core_bytes": 300_000, "annex": True, "annex_gzip": False, "runcard": True}
    target = tmp_path / "broken" / "aiop.json"
    target.parent.mkdir()
    target.write_bytes(build_package(session, options=options).files["aiop.json"])
    doc = assert_aiop_valid(target)
    assert doc["evidence"]["run"]["status"] == "unfinished"
    assert {s["step_id"]: s["status"] for s in doc["evidence"]["steps"]}["write-b"] == "succeeded"


def test_compile_session_page_shows_the_plan_not_a_run(tmp_path):
    oml = rk.branches_oml(tmp_path)
    result = CliRunner().invoke(
        cli, ["compile", str(oml), "--logs-dir", "logs"], obj={"registry": rk.registry()}
    )
    assert result.exit_code == 0, result.output
    (session,) = (tmp_path / "logs").iterdir()
    html = render_session(load_session(session))
    assert_self_contained(html)
    plan = html[
        html.index('<section id="plan">') : html.index("</section>", html.index('id="plan"'))
    ]
    assert "Compiled into 5 steps" in plan
    for step in ("read-a", "read-b", "write-a", "write-b", "count-b"):
        assert f'<tr id="step-{step}"><td class="mono">{step}</td>' in plan
    assert 'id="steps-table"' not in html and 'id="timeline"' not in html  # nothing ran
    assert 'class="badge kind">compile<' in html and 'id="dag"' in html
