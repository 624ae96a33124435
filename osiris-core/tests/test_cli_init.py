"""``osiris init``: scaffolds a runnable project and never overwrites without --force."""

from __future__ import annotations

from click.testing import CliRunner
from osiris.cli.main import cli
from osiris.registry import build_registry

EXPECTED = [
    ".env.example",
    ".gitignore",
    "data/movies.csv",
    "osiris_connections.yaml",
    "pipeline.yaml",
]


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_init_creates_the_project(tmp_path):
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "proj")])
    assert result.exit_code == 0, result.output
    assert _files(tmp_path / "proj") == EXPECTED
    connections = (tmp_path / "proj" / "osiris_connections.yaml").read_text()
    assert "${MYSQL_PASSWORD}" in connections and "${MYSQL_HOST:-127.0.0.1}" in connections
    assert ".env\n" in (tmp_path / "proj" / ".gitignore").read_text()
    assert "Next steps" in result.output


def test_init_refuses_to_overwrite_then_force(tmp_path):
    (tmp_path / "pipeline.yaml").write_text("mine\n")
    result = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "already has pipeline.yaml; nothing was written" in result.stderr
    assert _files(tmp_path) == ["pipeline.yaml"]
    assert (tmp_path / "pipeline.yaml").read_text() == "mine\n"
    result = CliRunner().invoke(cli, ["init", str(tmp_path), "--force"])
    assert result.exit_code == 0 and f"overwrote {tmp_path / 'pipeline.yaml'}" in result.output
    assert _files(tmp_path) == EXPECTED


def test_example_project_plans_runs_and_shows(tmp_path, monkeypatch):
    """The scaffold's pipeline compiles against what is installed (filesystem + duckdb)."""
    import pytest

    registry = build_registry()
    if "filesystem.csv_extractor" not in registry.components:
        pytest.skip(
            "osiris-driver-filesystem is not installed (pip install -e osiris-driver-filesystem)"
        )
    monkeypatch.chdir(tmp_path)
    CliRunner().invoke(cli, ["init"])
    result = CliRunner().invoke(
        cli, ["run", "pipeline.yaml", "--dry-run"], obj={"registry": registry}
    )
    assert result.exit_code == 0, result.output
    assert "Plan for movies-per-director: 3 steps" in result.output
    result = CliRunner().invoke(cli, ["run", "pipeline.yaml"], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "output" / "per_director.csv").read_text().splitlines()[1:] == [
        '"Denis Villeneuve",2,7.95',
        '"Michael Mann",1,8.3',
        '"Ridley Scott",2,8.3',
    ]
    shown = CliRunner().invoke(cli, ["logs", "show", "last"]).output
    assert "Status    succeeded" in shown and "write_summary" in shown


def test_init_next_steps_quote_a_directory_with_spaces(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["init", "my project"])
    assert result.exit_code == 0, result.output
    steps = result.output.split("Next steps:\n", 1)[1].splitlines()
    assert [s.split("#")[0].strip() for s in steps] == [
        "cd 'my project'",
        "osiris run pipeline.yaml",
        "cp .env.example .env",
        "osiris validate",
    ]
