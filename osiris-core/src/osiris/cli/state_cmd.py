"""``osiris state list|show|reset``: the high-water marks of incremental steps.

Marks live in ``./.osiris/state.sqlite`` (the project directory, as ``last_compile.json``);
``osiris run`` reads them before and stores them after a run whose writes committed.
"""

from __future__ import annotations

import json

import click

from osiris.errors import InvalidInputError

STEP_OPTION = click.option("--step", "step_id", metavar="ID", help="Only this step.")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("state")
def state() -> None:
    """Show or reset the marks incremental steps read from (.osiris/state.sqlite)."""


@state.command("list")
@click.argument("pipeline", required=False)
@JSON_OPTION
def list_(pipeline: str | None, as_json: bool) -> None:
    """Every stored mark (of PIPELINE, when given)."""
    from osiris.state.store import StateStore

    store = StateStore()
    marks = store.list(pipeline)
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in marks], indent=2))
        return
    if not marks:
        where = f" for pipeline '{pipeline}'" if pipeline else ""
        click.echo(f"No incremental state{where} in {store.path}.")
        return
    _table(marks)


@state.command("show")
@click.argument("pipeline")
@STEP_OPTION
@JSON_OPTION
def show(pipeline: str, step_id: str | None, as_json: bool) -> None:
    """The marks of PIPELINE's incremental steps: cursor, type, value, when and by which run."""
    marks = _existing(pipeline, step_id)
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in marks], indent=2))
        return
    _table(marks)


@state.command("reset")
@click.argument("pipeline")
@STEP_OPTION
def reset(pipeline: str, step_id: str | None) -> None:
    """Forget PIPELINE's marks (or one step's): the next run reads everything again."""
    from osiris.state.store import StateStore

    _existing(pipeline, step_id)
    removed = StateStore().reset(pipeline, step_id)
    what = f"step '{step_id}' of '{pipeline}'" if step_id else f"pipeline '{pipeline}'"
    click.echo(
        f"Reset {removed} mark{'' if removed == 1 else 's'} of {what}; the next run reads"
        " from the start (or incremental.initial)."
    )


def _existing(pipeline: str, step_id: str | None) -> list:
    """The marks asked for; none is invalid input naming what is stored."""
    from osiris.state.store import StateStore

    store = StateStore()
    marks = store.list(pipeline, step_id)
    if marks:
        return marks
    if step_id is not None and store.list(pipeline):
        steps = ", ".join(m.step_id for m in store.list(pipeline))
        raise InvalidInputError(
            f"Pipeline '{pipeline}' has no stored mark for step '{step_id}'.",
            hint=f"Steps with a mark: {steps}.",
        )
    names = sorted({m.pipeline for m in store.list()})
    raise InvalidInputError(
        f"No incremental state for pipeline '{pipeline}' in {store.path}.",
        hint=f"Pipelines with state: {', '.join(names)}." if names else "No pipeline has any yet.",
    )


def _table(marks: list) -> None:
    rows = [
        (m.pipeline, m.step_id, m.cursor, m.mark.kind, m.mark.value, m.updated_at) for m in marks
    ]
    head = ("PIPELINE", "STEP", "CURSOR", "TYPE", "VALUE", "UPDATED")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
