"""``osiris logs list|show|html|aiop|gc``: read back what runs recorded in their sessions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from osiris.errors import InvalidInputError

LOGS_DIR_OPTION = click.option(
    "--logs-dir",
    type=click.Path(path_type=Path),
    help="Where sessions are (default: $OSIRIS_LOGS_DIR or ./logs).",
)


@click.group("logs")
def logs() -> None:
    """List, inspect, report on and clean up sessions."""


@logs.command("list")
@LOGS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(logs_dir: Path | None, as_json: bool) -> None:
    """Sessions, newest first."""
    from osiris.session import list_sessions, resolve_logs_dir

    root = resolve_logs_dir(logs_dir)
    sessions = [s.summary() for s in list_sessions(root)]
    if as_json:
        click.echo(json.dumps(sessions, indent=2))
        return
    if not sessions:
        click.echo(f"No sessions in {root}.")
        return
    width = max(len(s["session"]) for s in sessions)
    for s in sessions:
        duration = _seconds(s["duration_ms"])
        click.echo(
            f"{s['session']:<{width}}  {s['status']:<10}  {s['pipeline'] or '-':<24}"
            f"  {s['steps']:>3} steps  {duration:>8}"
        )


@logs.command("show")
@click.argument("session_ref", metavar="SESSION")
@LOGS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="status.json plus event and metric counts.")
def show(session_ref: str, logs_dir: Path | None, as_json: bool) -> None:
    """What happened in SESSION (an id, a unique prefix, `last`, or a session directory)."""
    from osiris.session import find_session, resolve_logs_dir

    info = find_session(resolve_logs_dir(logs_dir), session_ref)
    status = info.status or {}
    events = _read_lines(info.path / "events.jsonl")
    artifacts = sorted(
        str(p.relative_to(info.path)) for p in (info.path / "artifacts").rglob("*") if p.is_file()
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    **status,
                    "session": info.id,
                    "path": str(info.path),
                    "state": info.state,
                    "artifacts": artifacts,
                    "events": len(events),
                },
                indent=2,
                default=str,
            )
        )
        return
    click.echo(_show_text(info, status, events, artifacts))


def _show_text(info: Any, status: dict, events: list[dict], artifacts: list[str]) -> str:
    state = {"ok": "succeeded", "failed": "FAILED", "unfinished": "unfinished (no status.json)"}
    lines = [
        f"Session   {info.id}",
        f"Pipeline  {status.get('pipeline') or '-'}",
        f"Status    {state[info.state]}",
        f"Started   {status.get('started_at') or '-'}   duration {_seconds(status.get('duration_ms'))}",
    ]
    adapter = next((e.get("adapter") for e in events if e.get("event") == "adapter_selected"), None)
    if adapter:
        lines.append(f"Adapter   {adapter}")
    if status.get("error"):
        lines.append(f"Error     {status['error']}")
    steps = status.get("steps") or {}
    if steps:
        lines.append("Steps")
        width = max(len(k) for k in steps)
        for step_id, step in steps.items():
            rows = step.get("rows")
            rows_text = f"{rows:>12,} rows" if isinstance(rows, int) else " " * 17
            lines.append(
                f"  {step_id:<{width}}  {step.get('status', '?'):<9} {rows_text}"
                f" {_seconds(step.get('duration_ms')):>8}"
            )
            if step.get("error") and step.get("status") == "failed":
                lines.append(f"  {'':<{width}}  {step['error']}")
    if status.get("state"):
        from osiris.state.host import state_line

        lines.append("State")
        lines += [state_line(step_id, mark) for step_id, mark in status["state"].items()]
    lines.append(f"Files     {info.path}/ (events.jsonl, metrics.jsonl, osiris.log, status.json)")
    if artifacts:
        lines.append(f"Artifacts {len(artifacts)} file(s) under {info.path / 'artifacts'}/")
        lines += [f"  {a}" for a in artifacts[:20]]
    return "\n".join(lines)


@logs.command("gc")
@LOGS_DIR_OPTION
@click.option("--keep", type=click.IntRange(min=0), help="Keep the newest N sessions.")
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0),
    metavar="DAYS",
    help="Remove sessions started more than DAYS ago.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def gc(logs_dir: Path | None, keep: int | None, older_than: float | None, dry_run: bool) -> None:
    """Remove old sessions (only directories named like session ids)."""
    from osiris.session import list_sessions, resolve_logs_dir
    from osiris.session.store import remove_session, select_for_gc

    if (keep is None) == (older_than is None):
        raise InvalidInputError("Give exactly one of --keep N or --older-than DAYS.")
    root = resolve_logs_dir(logs_dir)
    doomed = select_for_gc(list_sessions(root), keep=keep, older_than_days=older_than)
    for info in doomed:
        if not dry_run:
            remove_session(info)
        click.echo(f"{'would remove' if dry_run else 'removed'} {info.id}")
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {len(doomed)} session(s) from {root}.")


@logs.command("html")
@click.argument("session_ref", metavar="[SESSION|last]", required=False)
@LOGS_DIR_OPTION
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for the pages (default: <logs-dir>/html).",
)
@click.option("--open", "open_", is_flag=True, help="Open the page in the default browser.")
def html(session_ref: str | None, logs_dir: Path | None, out_dir: Path | None, open_: bool) -> None:
    """Self-contained HTML report of SESSION (default: every session) plus an index page.

    The pages load nothing from the network: they open offline, from any folder.
    """
    import sys

    from osiris.report.site import default_out_dir, write_reports
    from osiris.session import find_session, list_sessions, resolve_logs_dir

    root = resolve_logs_dir(logs_dir)
    if session_ref is None:
        sessions = list_sessions(root)
        if not sessions:
            raise InvalidInputError(f"No sessions in {root}; run a pipeline first.")
    else:
        sessions = [find_session(root, session_ref)]
    written = write_reports(root, sessions, out_dir or default_out_dir(root))
    target = written.pages[0] if session_ref is not None else written.index
    if session_ref is None:
        click.echo(f"Wrote {len(written.pages)} session page(s) and {written.index}.")
    click.echo(str(target))
    if open_ and sys.stdout.isatty() and not _in_ci():
        import webbrowser

        webbrowser.open(target.resolve().as_uri())


@logs.command("aiop")
@click.argument("session_ref", metavar="[SESSION|last]", required=False, default="last")
@LOGS_DIR_OPTION
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "md"]),
    default="json",
    show_default=True,
    help="aiop.json, or the Markdown run card.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(),
    help="Write to this file; a directory (or a path ending in /) gets the whole package.",
)
@click.option(
    "--max-core-bytes",
    type=click.IntRange(min=10000),
    help="Size limit of aiop.json (setting aiop.max_core_bytes).",
)
def aiop(
    session_ref: str,
    logs_dir: Path | None,
    fmt: str,
    out_path: str | None,
    max_core_bytes: int | None,
) -> None:
    """The AI Operation Package of SESSION (default: the newest), on stdout or in --out.

    Runs export it automatically to logs/<session>/aiop/; this rebuilds it from the session.
    """
    from osiris.report.export import package_for, write_package
    from osiris.report.settings import load
    from osiris.session import find_session, resolve_logs_dir

    info = find_session(resolve_logs_dir(logs_dir), session_ref)
    settings = load({"max_core_bytes": max_core_bytes} if max_core_bytes else None)
    package = package_for(info.path, settings=settings)
    text = package.core_text if fmt == "json" else package.runcard_text
    if out_path is None:
        click.echo(text, nl=False)
        return
    target = Path(out_path)
    if target.is_dir() or out_path.endswith(("/", "\\")):
        written = write_package(package, target)
        click.echo(f"Wrote {len(written)} file(s) to {target}/.")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(str(target))


def _in_ci() -> bool:
    import os

    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _seconds(ms: Any) -> str:
    return f"{ms / 1000:.2f} s" if isinstance(ms, int | float) else "-"
