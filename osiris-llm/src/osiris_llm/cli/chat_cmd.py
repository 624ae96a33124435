"""``osiris chat``: describe a data movement, get a validated pipeline, approve it, run it.

Modes: interactive (no -m), one message per call (``-m TEXT [--session ID] [--yes] [--json]``),
``--approve --session ID``, ``--sql QUERY --connection @family.alias``, ``--resume [ID]``, and
``osiris chat sessions list|show|rm``. Exit codes: 0 done, 1 a failed model call or run,
2 invalid input (unknown provider, missing key, bad flags).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from osiris.errors import InvalidInputError, OsirisError

from osiris_llm.cli.sessions_cmd import sessions

SQL_MESSAGE = "Build a pipeline around the given query."


@click.group(
    "chat", invoke_without_command=True, short_help="Describe a data movement; get a pipeline."
)
@click.option("-m", "--message", help="Send one message and exit (continue with --session).")
@click.option("--session", "session_id", metavar="ID", help="Continue this chat session.")
@click.option(
    "--resume",
    is_flag=False,
    flag_value="latest",
    default=None,
    metavar="[ID]",
    help="Resume a chat (the latest when no ID is given).",
)
@click.option("--yes", is_flag=True, help="With -m: approve and run a valid proposal at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.option(
    "--approve", is_flag=True, help="Run the pipeline awaiting approval (with --session)."
)
@click.option("--sql", help="Build the pipeline around this read-only SELECT.")
@click.option("--connection", metavar="@FAMILY.ALIAS", help="Connection the --sql query runs on.")
@click.option("--provider", help="LLM provider (osiris llm providers).")
@click.option("--model", help="Model name.")
@click.option("--base-url", help="Server URL, e.g. http://localhost:11434/v1 for Ollama.")
@click.option("--no-samples", is_flag=True, help="Never show sample rows to the model.")
@click.option("--text-only", is_flag=True, help="The model cannot call tools: read its ```yaml.")
@click.option("--pro-mode", is_flag=True, help="Use the prompts in --prompts-dir.")
@click.option(
    "--prompts-dir",
    type=click.Path(path_type=Path),
    help="Prompts exported by `osiris dump-prompts --export` (default ./prompts).",
)
@click.option("--out", help="Where to write the pipeline (default pipelines/<name>.yaml).")
@click.option(
    "--connections",
    "connections_path",
    type=click.Path(path_type=Path),
    help="Connections file (default: $OSIRIS_HOME, then ./osiris_connections.yaml).",
)
@click.option(
    "--logs-dir", type=click.Path(path_type=Path), help="Where sessions go (default ./logs)."
)
@click.pass_context
def chat(ctx: click.Context, **options: Any) -> None:
    """Talk to the model about your data; it proposes a pipeline that runs once you approve."""
    if ctx.invoked_subcommand:
        return
    _check_flags(options)
    from osiris_llm.agent.factory import ChatSetup, open_chat

    session_id = options["session_id"] or _resumed(options["resume"])
    context = (
        {"sql": options["sql"], "connection": options["connection"]} if options["sql"] else None
    )
    setup = ChatSetup(
        project_dir=Path.cwd(),
        session_id=session_id,
        cli_settings={
            "provider": options["provider"],
            "model": options["model"],
            "base_url": options["base_url"],
        },
        connections_path=options["connections_path"],
        logs_dir=options["logs_dir"],
        no_samples=options["no_samples"],
        pro_mode=options["pro_mode"] or options["prompts_dir"] is not None,
        prompts_dir=options["prompts_dir"],
        out=options["out"],
        tools=not options["text_only"],
        need_model=not options["approve"],
        context=context,
    )
    agent = open_chat(setup)
    error = None
    try:
        if options["approve"]:
            _one_approval(agent, options["as_json"])
        elif options["message"] or options["sql"]:
            _one_message(agent, options["message"] or SQL_MESSAGE, options)
        else:
            _interactive(agent)
    except OsirisError as exc:
        error = str(exc)
        agent.session.event("chat_error", error_type=type(exc).__name__, error=error)
        agent.session.log_exception("chat failed", exc)
        raise _with_resume_hint(exc, agent.id) from exc
    except KeyboardInterrupt:
        error = "interrupted"
        agent.session.event("chat_interrupted", state=agent.state.value)
        click.echo(f"\nInterrupted. Resume with: osiris chat --resume {agent.id}", err=True)
        raise click.exceptions.Exit(130) from None
    finally:
        agent.close(error)


def _check_flags(options: dict[str, Any]) -> None:
    if options["approve"] and not (options["session_id"] or options["resume"]):
        raise InvalidInputError("--approve needs --session ID (the chat whose pipeline to run).")
    if options["approve"] and (options["message"] or options["sql"]):
        raise InvalidInputError("--approve runs the proposal as it is; drop -m/--sql.")
    if options["yes"] and not (options["message"] or options["sql"]):
        raise InvalidInputError("--yes applies to -m TEXT (approve and run in the same call).")
    if options["as_json"] and not (options["message"] or options["sql"] or options["approve"]):
        raise InvalidInputError("--json applies to -m TEXT and --approve.")
    if bool(options["sql"]) != bool(options["connection"]):
        raise InvalidInputError("--sql and --connection go together: the query and where it runs.")
    if options["sql"]:
        from osiris.connections import parse_reference
        from osiris.sqlguard import read_only_problem

        family, _alias = parse_reference(options["connection"])
        dialect = {"mysql": "mysql", "supabase": "postgres", "postgres": "postgres"}.get(family)
        problem = read_only_problem(options["sql"], dialect=dialect)
        if problem:
            raise InvalidInputError(f"--sql: {problem}", hint="Give one read-only SELECT.")


def _resumed(resume: str | None) -> str | None:
    if resume is None:
        return None
    if resume != "latest":
        return resume
    from osiris.masking import process_masker

    from osiris_llm.agent.store import ChatStore

    store = ChatStore(Path.cwd(), mask=process_masker.mask)
    try:
        latest = store.latest()
    finally:
        store.close()
    if latest is None:
        raise InvalidInputError(
            "There is no chat to resume here.", hint="Start one with osiris chat."
        )
    return latest.id


def _with_resume_hint(exc: OsirisError, chat_id: str) -> OsirisError:
    if "--session" in str(exc) or isinstance(exc, InvalidInputError):
        return exc
    message = f"{exc.message.rstrip('.')}. The chat is saved: continue with"
    message += f" `osiris chat --resume {chat_id}`."
    try:
        return type(exc)(message, hint=exc.hint)
    except TypeError:  # an error class with another signature keeps its own text
        return exc


def _one_message(agent: Any, text: str, options: dict[str, Any]) -> None:
    from osiris_llm.agent.machine import State
    from osiris_llm.cli import render

    as_json = options["as_json"]
    out = render.console()
    stream = sys.stdout.isatty() and not as_json
    result = agent.send(text, on_text=_printer() if stream else None)
    if stream:
        sys.stdout.write("\n")
    if options["yes"] and result.state == State.AWAITING_APPROVAL.value:
        ran = agent.approve(on_event=_progress())
        result.run, result.state = ran.run, ran.state
    if as_json:
        click.echo(json.dumps(agent.mask(result.as_json()), indent=2, ensure_ascii=False))
    else:
        render.show_turn(out, result, streamed=stream)
        _next_step(out, agent, result)
    if result.run is not None and not result.run["ok"]:
        raise OsirisError(f"The run failed: {result.run.get('error')}")


def _one_approval(agent: Any, as_json: bool) -> None:
    from osiris_llm.cli import render

    result = agent.approve(on_event=_progress())
    if as_json:
        click.echo(json.dumps(agent.mask(result.as_json()), indent=2, ensure_ascii=False))
    else:
        render.show_run(render.console(), result.run)
    if not result.run["ok"]:
        raise OsirisError(f"The run failed: {result.run.get('error')}")


def _next_step(out: Any, agent: Any, result: Any) -> None:
    from osiris_llm.agent.machine import State

    if result.state == State.AWAITING_APPROVAL.value:
        out.print(f"Approve and run: osiris chat --approve --session {agent.id}")
    elif result.run is None:
        out.print(f"Reply with: osiris chat -m TEXT --session {agent.id}", style="dim")


def _progress() -> Any:
    """The run's step lines on a terminal, exactly as `osiris run` prints them (quiet in pipes)."""
    from osiris.cli.run_cmd import ProgressReporter

    return ProgressReporter(verbose=False, progress=sys.stderr.isatty())


def _printer() -> Any:
    def write(delta: str) -> None:
        sys.stdout.write(delta)
        sys.stdout.flush()

    return write


def _interactive(agent: Any) -> None:
    """A terminal conversation; Ctrl-C or Ctrl-D leave it resumable."""
    from rich.markup import escape

    from osiris_llm.agent.machine import State
    from osiris_llm.cli import render

    out = render.console()
    out.print(
        f"Chat {agent.id} · {escape(agent.client.provider.name)} {escape(agent.client.model)}."
        " Describe what should move where; Ctrl-D to leave."
    )
    _resumed_view(out, agent)
    while True:
        try:
            text = out.input("[bold cyan]you>[/] ")
        except EOFError:
            out.print()
            break
        if not text.strip():
            continue
        sys.stdout.write("osiris> ")
        try:
            result = agent.send(text, on_text=_printer())
        except OsirisError as exc:  # the model failed this turn: say so, keep the chat open
            agent.session.event("chat_error", error_type=type(exc).__name__, error=str(exc))
            out.print(f"\n[red]Error:[/] {escape(agent.mask(str(exc)))}")
            continue
        sys.stdout.write("\n")
        render.show_turn(out, result, streamed=True)
        if result.state == State.AWAITING_APPROVAL.value:
            answer = out.input("Run it now? \\[y/N] ").strip().lower()
            if answer in ("y", "yes"):
                render.show_run(out, agent.approve(on_event=_progress()).run)
    out.print(f"Saved. Resume with: osiris chat --resume {agent.id}")


def _resumed_view(out: Any, agent: Any) -> None:
    """A resumed chat shows where it stopped; a proposal still awaiting approval is offered."""
    from rich.markup import escape

    from osiris_llm.agent.machine import State
    from osiris_llm.cli import render

    last = next((m for m in reversed(agent.messages) if m.role == "assistant" and m.content), None)
    if last is None:
        return
    out.print(f"[dim]Resumed in state {agent.state.value}. Last reply:[/] {escape(last.content)}")
    if agent.state == State.AWAITING_APPROVAL:
        out.print(f"Awaiting approval: {escape(agent.record.pipeline_path or '')}")
        if out.input("Run it now? \\[y/N] ").strip().lower() in ("y", "yes"):
            render.show_run(out, agent.approve(on_event=_progress()).run)


chat.add_command(sessions)
