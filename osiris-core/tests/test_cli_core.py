"""`osiris oml validate`, `compile`, `components` and `plugins` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import oml_support as support
import pytest
from click.testing import CliRunner
from osiris.cli.main import cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "pipelines"

BAD = """\
oml_version: "0.1.0"
name: bad
steps:
  - id: src
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.default"
      query: DROP TABLE movies
  - id: out
    component: supabase.writer
    mode: write
    config:
      connection: "@supabase.main"
      tabel: x
"""


@pytest.fixture
def cli_run(monkeypatch, tmp_path):
    """Invoke the CLI in tmp_path with the test registry (obj["registry"])."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, registry=True):
        obj = {"registry": support.registry()} if registry else None
        return CliRunner().invoke(cli, list(args), obj=obj)

    return invoke


def test_validate_valid_file(cli_run):
    result = cli_run("oml", "validate", str(EXAMPLES / "mysql_duckdb_supabase.yaml"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("valid OML (3 steps).")


def test_validate_lists_every_issue_with_position_and_fix(cli_run, tmp_path):
    support.write(tmp_path, BAD)
    result = cli_run("oml", "validate", "pipeline.yaml")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "pipeline.yaml:9:7: error: steps[0].config.query: The query starts with DROP; only a single"
        " read-only SELECT (or WITH … SELECT) is allowed (mysql.extractor only reads; write data with a"
        " step in mode: write)"
    )
    assert lines[1].startswith(
        "pipeline.yaml:13:5: error: steps[1].config.table: required field 'table' is missing"
    )
    assert lines[2].startswith(
        "pipeline.yaml:15:7: error: steps[1].config.tabel: unknown field 'tabel' for supabase.writer (did you mean 'table'?"
    )
    assert lines[3].startswith("pipeline.yaml:10:5: warning: steps[1]: needs is implicit")
    assert lines[4] == "pipeline.yaml: 3 errors, 1 warning."
    assert "Traceback" not in result.output


def test_validate_json(cli_run, tmp_path):
    support.write(tmp_path, BAD)
    result = cli_run("oml", "validate", "pipeline.yaml", "--json")
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    assert [e["path"] for e in payload["errors"]] == [
        "steps[0].config.query",
        "steps[1].config.table",
        "steps[1].config.tabel",
    ]
    assert payload["errors"][0]["line"] == 9 and payload["errors"][0]["severity"] == "error"
    assert payload["warnings"][0]["fix"] == "add needs: [src] to make it explicit"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "pipeline.yaml:1:1: error: the file is empty"),
        (b"- a\n", "pipeline.yaml:1:1: error: the top level must be a mapping"),
        (b"a:\n\tb: 1\n", "pipeline.yaml:2:1: error: a tab character is used for indentation"),
        (b"\xff\xfe\x00junk", "pipeline.yaml:1:1: error: the file is not UTF-8 text"),
    ],
)
def test_validate_malformed_yaml_is_one_clear_line(cli_run, tmp_path, content, expected):
    (tmp_path / "pipeline.yaml").write_bytes(content)
    result = cli_run("oml", "validate", "pipeline.yaml")
    assert result.exit_code == 2
    assert result.stdout.startswith(expected)
    assert "Traceback" not in result.output
    as_json = json.loads(cli_run("oml", "validate", "pipeline.yaml", "--json").stdout)
    assert as_json["errors"][0]["line"] == int(expected.split(":")[1])


def test_validate_missing_file(cli_run):
    result = cli_run("oml", "validate", "nope.yaml")
    assert result.exit_code == 2
    assert "nope.yaml: error: the file does not exist (check the path)" in result.stdout


def test_validate_params_and_profile(cli_run, tmp_path):
    text = (
        'oml_version: "0.1.0"\nname: p\nparams: {n: 1}\nprofiles: {big: {n: 1000}}\nsteps:\n'
        "  - id: a\n    component: duckdb.processor\n    mode: transform\n    needs: []\n"
        "    config: {query: 'SELECT ${params.n} AS x, ${params.m} AS y'}\n"
    )
    support.write(tmp_path, text)
    result = cli_run("oml", "validate", "pipeline.yaml")
    assert result.exit_code == 2 and "undefined parameter 'm'" in result.stdout
    assert (
        cli_run("oml", "validate", "pipeline.yaml", "--param", "m=2", "--profile", "big").exit_code
        == 0
    )
    bad = cli_run("oml", "validate", "pipeline.yaml", "--param", "m")
    assert bad.exit_code == 2 and "'m' is not NAME=VALUE" in bad.stderr


def test_compile_writes_output_and_last_compile(cli_run, tmp_path):
    oml = support.write(tmp_path, (EXAMPLES / "mysql_duckdb_supabase.yaml").read_text())
    result = cli_run("compile", str(oml), "--profile", "dev")
    assert result.exit_code == 0, result.output
    assert "Compiled 'movies-director-stats' (3 steps) to compiled/manifest.yaml" in result.stdout
    last = json.loads((tmp_path / ".osiris" / "last_compile.json").read_text())
    assert last == {"manifest": str((tmp_path / "compiled" / "manifest.yaml").resolve())}
    cfg = json.loads((tmp_path / "compiled" / "cfg" / "director-stats.json").read_text())
    assert "HAVING count(*) >= 2" in cfg["query"]


def test_compile_succeeds_when_the_last_compile_cannot_be_recorded(cli_run, tmp_path):
    (tmp_path / ".osiris").write_text("a file where the state directory would go")
    oml = support.write(tmp_path, (EXAMPLES / "duckdb_only.yaml").read_text())
    result = cli_run("compile", str(oml))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "compiled" / "manifest.yaml").is_file()
    assert "Warning: could not record the compile in .osiris/last_compile.json" in result.stderr
    assert "`osiris run --last-compile` will not find it" in result.stderr


def test_compile_json_and_param(cli_run, tmp_path):
    support.write(tmp_path, (EXAMPLES / "duckdb_only.yaml").read_text())
    result = cli_run("compile", "pipeline.yaml", "--out", "build", "--param", "rows=5", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is True and payload["steps"] == ["numbers", "parity"]
    assert payload["manifest"] == str(Path("build") / "manifest.yaml")
    assert set(payload["fingerprints"]) == {
        "oml_fp",
        "params_fp",
        "registry_fp",
        "compiler_fp",
        "manifest_fp",
    }
    assert json.loads((tmp_path / "build" / "meta.json").read_text())["params"] == {"rows": 5}


def test_compile_invalid_lists_issues_on_stderr_and_writes_nothing(cli_run, tmp_path):
    support.write(tmp_path, BAD)
    result = cli_run("compile", "pipeline.yaml")
    assert result.exit_code == 2
    assert "steps[0].config.query: The query starts with DROP" in result.stderr
    assert result.stderr.strip().endswith("Error: pipeline.yaml was not compiled.")
    assert not (tmp_path / "compiled").exists() and not (tmp_path / ".osiris").exists()
    payload = json.loads(cli_run("compile", "pipeline.yaml", "--json").stdout)
    assert payload["ok"] is False and len(payload["errors"]) == 3


def test_components_list_and_show(cli_run):
    listing = cli_run("components", "list", registry=False)
    assert listing.exit_code == 0
    assert listing.stdout.splitlines()[0].split() == ["NAME", "MODES", "DISTRIBUTION", "TITLE"]
    assert any(
        line.startswith("duckdb.processor") and "osiris-core 0.1.0" in line
        for line in listing.stdout.splitlines()
    )
    items = json.loads(cli_run("components", "list", "--json").stdout)
    assert [i["name"] for i in items] == ["duckdb.processor", "mysql.extractor", "supabase.writer"]
    assert (
        items[1]["modes"] == ["read", "discover"]
        and items[1]["distribution"] == "osiris-driver-mysql"
    )
    show = cli_run("components", "show", "supabase.writer")
    assert show.exit_code == 0
    assert "provided by: osiris-driver-supabase 0.1.0" in show.stdout
    assert any(
        line.split()[:3] == ["table", "string", "required"] for line in show.stdout.splitlines()
    )
    assert "Secrets (never in OML" in show.stdout
    detail = json.loads(cli_run("components", "show", "duckdb.processor", "--json").stdout)
    assert detail["fields"][0]["name"] == "query" and detail["spec"]["examples"]


def test_components_show_unknown(cli_run):
    result = cli_run("components", "show", "mysql.extractr")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: Unknown component 'mysql.extractr'. Installed: duckdb.processor,"
    )
    assert "Traceback" not in result.output


def test_plugins_lists_provenance_and_broken_plugins(cli_run, monkeypatch):
    from importlib import metadata

    real = metadata.entry_points

    def entry_points(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == "osiris":
            found.append(metadata.EntryPoint("broken", "osiris_no_such_module:plugin", "osiris"))
        return found

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    result = cli_run("plugins", registry=False)
    assert result.exit_code == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert (
        "osiris-core" in rows["osiris.builtin.plugin"]
        and "register_components" in rows["osiris.builtin.plugin"]
    )
    assert "FAILED: ModuleNotFoundError: No module named 'osiris_no_such_module'" in rows["broken"]
    assert "1 plugin(s) failed to load (broken)" in result.stderr
    items = {i["name"]: i for i in json.loads(cli_run("plugins", "--json", registry=False).stdout)}
    assert items["broken"]["ok"] is False and items["broken"]["error"].startswith(
        "ModuleNotFoundError"
    )
    assert items["osiris.builtin.plugin"]["version"] == "0.1.0"
    # A broken plugin does not break unrelated commands.
    assert cli_run("components", "list", registry=False).exit_code == 0


NUMBERS = """\
oml_version: "0.1.0"
name: numbers
metadata: {weight: .inf}
params: {ratio: 0.5, rows: .nan}
steps:
  - id: a
    description: .nan
    component: duckdb.processor
    mode: transform
    needs: []
    config: {query: "SELECT ${params.ratio} AS r"}
"""


@pytest.mark.parametrize("mode", ["[transform]", "{transform: 1}"])
def test_validate_mode_given_as_list_or_mapping_is_an_error(cli_run, tmp_path, mode):
    support.write(
        tmp_path,
        'oml_version: "0.1.0"\nname: m\nsteps:\n  - id: a\n    component: duckdb.processor\n'
        f"    mode: {mode}\n    needs: []\n    config: {{query: SELECT 1}}\n",
    )
    result = cli_run("oml", "validate", "pipeline.yaml")
    assert result.exit_code == 2, result.output
    assert "pipeline.yaml:6:5: error: steps[0].mode: mode must be read, write or transform" in (
        result.stdout
    )
    assert "Unexpected" not in result.output


def test_compile_rejects_non_finite_numbers_anywhere(cli_run, tmp_path):
    support.write(tmp_path, NUMBERS)
    result = cli_run("compile", "pipeline.yaml")
    assert result.exit_code == 2, result.output
    assert "pipeline.yaml:3:12: error: metadata.weight: inf is not a finite number" in result.stderr
    assert "params.rows: nan is not a finite number" in result.stderr
    assert "steps[0].description: nan is not a finite number" in result.stderr
    assert not (tmp_path / "compiled").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
def test_compile_rejects_non_finite_float_params(cli_run, tmp_path, monkeypatch, value):
    support.write(tmp_path, NUMBERS.replace(".inf", "1").replace(".nan", "1"))
    result = cli_run("compile", "pipeline.yaml", "--param", f"ratio={value}")
    assert result.exit_code == 2, result.output
    assert (
        f"--param ratio must be a finite number like its default 0.5, got '{value}'"
        in result.stderr
    )
    monkeypatch.setenv("OSIRIS_PARAM_RATIO", value)
    from_env = cli_run("compile", "pipeline.yaml")
    assert from_env.exit_code == 2, from_env.output
    assert "environment variable OSIRIS_PARAM_RATIO must be a finite number" in from_env.stderr
    assert not (tmp_path / "compiled").exists()


def test_compile_out_below_a_file_exits_2(cli_run, tmp_path):
    support.write(tmp_path, (EXAMPLES / "duckdb_only.yaml").read_text())
    (tmp_path / "notes.txt").write_text("not a directory\n")
    result = cli_run("compile", "pipeline.yaml", "--out", "notes.txt/build")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "Error: Cannot create the output directory notes.txt/build: notes.txt is a file."
        " Choose another --out directory.\n"
    )


def _only_session(logs: Path) -> Path:
    (session,) = sorted(logs.iterdir())
    return session


def test_compile_leaves_a_session_with_the_manifest_and_fingerprints(cli_run, tmp_path):
    support.write(tmp_path, (EXAMPLES / "duckdb_only.yaml").read_text())
    result = cli_run("compile", "pipeline.yaml", "--logs-dir", "sessions")
    assert result.exit_code == 0, result.output
    session = _only_session(tmp_path / "sessions")
    assert session.name.startswith("compile_")
    events = [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["compile_start", "compile_complete"]
    meta = json.loads((tmp_path / "compiled" / "meta.json").read_text())
    assert events[1]["fingerprints"] == meta["fingerprints"] and events[1]["steps"] == 2
    status = json.loads((session / "status.json").read_text())
    assert (status["ok"], status["pipeline"], status["exit_code"]) == (True, "duckdb-only", 0)
    assert (session / "manifest.yaml").read_bytes() == (
        tmp_path / "compiled" / "manifest.yaml"
    ).read_bytes()
    assert (session / "oml.yaml").read_text() == (tmp_path / "pipeline.yaml").read_text()


def test_a_refused_compile_records_its_errors_in_the_session(cli_run, tmp_path):
    support.write(tmp_path, BAD)
    assert cli_run("compile", "pipeline.yaml", "--logs-dir", "sessions").exit_code == 2
    session = _only_session(tmp_path / "sessions")
    last = json.loads((session / "events.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "compile_error"
    assert last["error"] == "pipeline.yaml was not compiled: 3 error(s)."
    assert last["errors"][0]["path"] == "steps[0].config.query"
    status = json.loads((session / "status.json").read_text())
    assert (status["ok"], status["exit_code"]) == (False, 2)


def test_compile_with_a_logs_dir_that_is_a_file_is_invalid_input(cli_run, tmp_path):
    support.write(tmp_path, (EXAMPLES / "duckdb_only.yaml").read_text())
    (tmp_path / "taken").write_text("x")
    result = cli_run("compile", "pipeline.yaml", "--logs-dir", "taken")
    assert result.exit_code == 2
    assert "The logs directory taken is not a directory." in result.stderr
