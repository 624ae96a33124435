"""How a chat turn looks in a terminal: the reply, the proposal (highlighted OML, steps,
connections, what each write does), the errors of an invalid one, and the run's result."""

from __future__ import annotations

from typing import Any


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def show_turn(out: Any, result: Any, *, streamed: bool = False) -> None:
    """Print a ``TurnResult``; ``streamed`` when the reply text was already printed."""
    from rich.markup import escape

    if result.reply and not streamed:
        out.print(escape(result.reply))
    if result.proposal:
        show_proposal(out, result.proposal)
    elif result.pipeline and not result.pipeline.get("valid"):
        show_errors(out, result.pipeline)
    if result.run:
        show_run(out, result.run)


def show_proposal(out: Any, proposal: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.syntax import Syntax
    from rich.table import Table

    out.print()
    out.print(
        Panel(
            Syntax(proposal["oml"].rstrip("\n"), "yaml", theme="ansi_dark", word_wrap=True),
            title=f"Proposed pipeline: {escape(proposal['path'])}",
            expand=False,
        )
    )
    table = Table(title="Steps in run order", show_lines=False, expand=False)
    for column in ("#", "step", "component", "mode", "needs", "what it does"):
        table.add_column(column)
    for number, step in enumerate(proposal["steps"], 1):
        table.add_row(
            str(number),
            escape(step["id"]),
            escape(str(step["component"])),
            escape(str(step["mode"])),
            escape(", ".join(step["needs"])),
            escape(step.get("effect", "")),
        )
    out.print(table)
    if proposal["connections"]:
        out.print("Connections used: " + escape(", ".join(proposal["connections"])))
    for warning in proposal.get("warnings") or []:
        out.print(f"[yellow]warning[/] {escape(warning['path'])}: {escape(warning['message'])}")


def show_errors(out: Any, pipeline: dict[str, Any]) -> None:
    from rich.markup import escape

    out.print(f"[red]The proposed pipeline is invalid[/] ({escape(str(pipeline['path']))}):")
    for error in pipeline["errors"]:
        fix = f" Fix: {error['fix']}" if error.get("fix") else ""
        out.print(f"  {escape(str(error['path']))}: {escape(error['message'])}.{escape(fix)}")


def show_run(out: Any, run: dict[str, Any]) -> None:
    from rich.markup import escape

    if run["ok"]:
        out.print(
            f"[green]Run succeeded[/]: {run.get('rows_written') or 0} rows written"
            f" (session {escape(run['session'])})."
        )
    else:
        out.print(
            f"[red]Run failed[/]: {escape(str(run.get('error')))} (session {run['session']})."
        )
    steps = run.get("steps") or {}
    width = max((len(k) for k in steps), default=0)
    for step_id, step in steps.items():
        rows = step.get("rows")
        rows_text = f"{rows:>10,} rows" if isinstance(rows, int) else ""
        line = f"  {step_id:<{width}}  {step.get('status') or '?':<9} {rows_text}".rstrip()
        out.print(escape(line))
