"""The chat agent: a state machine that drives the model with tools to an approved pipeline.

INIT → INTENT_CAPTURED → DISCOVERY → OML_SYNTHESIS → VALIDATE_OML → (REGENERATE_ONCE →
VALIDATE_OML) → COMPILE → AWAITING_APPROVAL → RUN → COMPLETE (or FAILED). Each transition is
a ``chat_state`` event in the chat's session and a row in the store; each message, tool call
and proposal is stored as it happens, so a killed chat resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from osiris.errors import InvalidInputError, OsirisError
from osiris.llm import ChatRequest, LLMError, Message, Reply, TextCallback, ToolCall

from osiris_llm import operations as ops
from osiris_llm.agent import context
from osiris_llm.agent import proposal as proposals
from osiris_llm.agent.store import ChatRecord, ChatStore
from osiris_llm.agent.tools import DISCOVERY_TOOLS, HANDLERS, TOOL_NAMES, TOOLS
from osiris_llm.prompts import Prompts, fill


class State(StrEnum):
    INIT = "INIT"
    INTENT_CAPTURED = "INTENT_CAPTURED"
    DISCOVERY = "DISCOVERY"
    OML_SYNTHESIS = "OML_SYNTHESIS"
    VALIDATE_OML = "VALIDATE_OML"
    REGENERATE_ONCE = "REGENERATE_ONCE"
    COMPILE = "COMPILE"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    RUN = "RUN"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class AgentLoopError(OsirisError):
    """The model kept calling tools without proposing a pipeline or asking a question."""


@dataclass
class TurnResult:
    """What one call (a message, or an approval) produced; ``as_json`` is the --json shape."""

    session_id: str
    state: str
    reply: str = ""
    pipeline: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    proposal: dict[str, Any] | None = None
    question: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "state": self.state,
            "reply": self.reply,
            "pipeline": self.pipeline,
            "run": self.run,
        }


@dataclass
class AgentOptions:
    max_tool_rounds: int = 12
    max_regenerations: int = 1
    temperature: float = 0.0
    max_tokens: int | None = None
    tools: bool = True
    """False for models that answer in text only: the OML is read from a ```yaml block."""
    out: str | None = None
    """Where the approved pipeline is written (default pipelines/<name>.yaml)."""


class ChatAgent:
    """One chat: its record, store, session, the model client and the workspace it acts on."""

    def __init__(
        self,
        *,
        ws: ops.Workspace,
        store: ChatStore,
        session: Any,
        record: ChatRecord,
        client: Any | None,
        prompts: Prompts,
        options: AgentOptions,
    ) -> None:
        self.ws = ws
        self.store = store
        self.session = session
        self.record = record
        self.client = client
        self.prompts = prompts
        self.options = options
        self.messages = _complete_history(store.messages(record.id))
        self._last_system: str | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def state(self) -> State:
        return State(self.record.state)

    def mask(self, value: Any) -> Any:
        return self.session.mask(value)

    # -- state -------------------------------------------------------------------------------------
    def transition(self, to: State) -> None:
        current = self.state
        if current == to:
            return
        self.store.add_state(self.id, current.value, to.value)
        self.record.state = to.value
        self.session.event("chat_state", **{"from": current.value, "to": to.value})

    def _remember(self, message: Message) -> None:
        masked = Message(
            role=message.role,
            content=self.mask(message.content),
            tool_calls=tuple(
                ToolCall(c.id, c.name, self.mask(c.arguments)) for c in message.tool_calls
            ),
            tool_call_id=message.tool_call_id,
            is_error=message.is_error,
        )
        self.messages.append(masked)
        self.store.add_message(self.id, masked)
        if masked.role in ("user", "assistant") and masked.content:
            self.session.event("chat_message", role=masked.role, content=masked.content)

    def close(self, error: str | None = None) -> None:
        """Write the chat session's status.json (``osiris logs list`` shows it) and close."""
        record = self.record
        self.session.pipeline = record.pipeline_path
        self.session.write_status(
            ok=error is None and self.state != State.FAILED,
            steps={},
            error=error,
            kind="chat",
            state=record.state,
            run_session=record.run_session,
        )
        self.session.close()
        self.store.close()

    # -- a user message -----------------------------------------------------------------------------
    def send(self, text: str, *, on_text: TextCallback | None = None) -> TurnResult:
        """Handle one user message: model rounds until a proposal, a question or an answer."""
        if not text.strip():
            raise InvalidInputError("The message is empty; say what data should move where.")
        if self.client is None:
            raise InvalidInputError("This chat has no model configured.")
        if self.state == State.RUN:
            raise InvalidInputError(
                f"Chat {self.id} was interrupted while its pipeline ran; see"
                f" `osiris chat sessions show {self.id}` and approve again to rerun it."
            )
        if self.state in (State.INIT, State.COMPLETE, State.FAILED) or not self.record.context.get(
            "intent"
        ):  # a new request (not an answer to a question): the intent its pipeline records
            self.record.context["intent"] = self.mask(text.strip())
            self.store.update(self.id, context=self.record.context)
        self.transition(State.INTENT_CAPTURED)
        self.store.update(
            self.id, regenerations=0, **({} if self.record.title else {"title": text[:80]})
        )
        self.record.regenerations = 0
        if not self.record.title:
            self.record.title = self.mask(text[:80])
        self._remember(Message("user", fill(self.prompts.user_prompt_template, {"message": text})))
        return self._rounds(on_text)

    def _rounds(self, on_text: TextCallback | None) -> TurnResult:
        result = TurnResult(self.id, self.state.value)
        stream = _RoundStream(on_text) if on_text else None
        for _round in range(self.options.max_tool_rounds):
            if stream:
                stream.next_round()
            reply = self._call_model(stream)
            self._remember(Message("assistant", reply.text, tool_calls=reply.tool_calls))
            result.reply = reply.text
            if not reply.tool_calls:
                oml, rest = proposals.yaml_block(reply.text)
                if oml is None:
                    result.state = self.state.value
                    return result  # an answer or a question in plain text
                outcome = self._propose(oml, rest, via="text")
                result.pipeline = outcome.get("pipeline")
                if outcome.get("retry"):
                    errors = json.dumps(outcome["result"], ensure_ascii=False)
                    self._remember(Message("user", f"The pipeline is invalid: {errors}"))
                    continue
                return self._finish(result, outcome)
            stop: dict[str, Any] | None = None
            for call in reply.tool_calls:
                if stop is not None:  # the turn already ended: answer the rest briefly
                    self._tool_result(
                        call,
                        {"skipped": "not run: an earlier call in this reply ended the step"},
                        0,
                    )
                    continue
                stop = self._dispatch(call)
            if stop is not None and stop.get("pipeline"):
                result.pipeline = stop["pipeline"]  # the latest proposal, even one sent back
            if stop is not None and not stop.get("retry"):
                return self._finish(result, stop)
        self.session.event("chat_loop_stopped", rounds=self.options.max_tool_rounds)
        raise AgentLoopError(
            f"The model called tools {self.options.max_tool_rounds} times in a row without"
            " proposing a pipeline or asking a question; the chat stopped.",
            hint=f"Rephrase the request with `osiris chat -m TEXT --session {self.id}`, or raise"
            " llm.max_tool_rounds.",
        )

    def _finish(self, result: TurnResult, outcome: dict[str, Any]) -> TurnResult:
        result.state = self.state.value
        result.pipeline = outcome.get("pipeline") or result.pipeline
        result.proposal = outcome.get("proposal")
        result.question = outcome.get("question")
        if result.question:
            result.reply = result.question
        elif outcome.get("summary") and not result.reply:
            result.reply = outcome["summary"]
        return result

    def _call_model(self, on_text: TextCallback | None) -> Reply:
        system = self.system_prompt()
        if system != self._last_system:  # the session shows exactly what the model was told
            self.session.write_text("system_prompt.txt", system)
            self._last_system = system
        request = ChatRequest(
            messages=list(self.messages),
            system=system,
            tools=TOOLS if self.options.tools else (),
            temperature=self.options.temperature,
            max_tokens=self.options.max_tokens,
        )
        try:
            return self.client.chat(request, on_text=on_text)
        except LLMError as exc:
            if not (request.tools and _no_tool_support(exc)):
                raise
            reason = str(exc)[:300]
        # a model without tool calling (common with small local models): go on in text mode
        self.options.tools = False
        self.record.context["text_only"] = True
        self.store.update(self.id, context=self.record.context)
        self.session.event("chat_text_only", reason=reason)
        return self._call_model(on_text)

    def system_prompt(self) -> str:
        """The system prompt, pro-mode or built-in, filled from the installed registry."""
        text = context.system_prompt(
            self.ws, self.prompts, self.record.context, text_only=not self.options.tools
        )
        return self.mask(text)

    # -- tools -------------------------------------------------------------------------------------
    def _dispatch(self, call: ToolCall) -> dict[str, Any] | None:
        """Run one tool call; a dict ends the turn (a proposal, a question), None goes on."""
        if call.name == "ask_user":
            question = str(call.arguments.get("question") or "").strip() or "Could you say more?"
            self._tool_result(
                call, {"asked": True, "note": "the person answers in the next message"}, 0
            )
            return {"question": self.mask(question)}
        if call.name == "propose_pipeline":
            oml = call.arguments.get("oml")
            summary = str(call.arguments.get("summary") or "")
            if not isinstance(oml, str) or not oml.strip():
                self._tool_result(
                    call, {"error": "propose_pipeline needs 'oml', the YAML text."}, 0, ok=False
                )
                return None
            started = time.perf_counter()
            outcome = self._propose(oml, summary, via="tool")
            self._tool_result(
                call,
                outcome["result"],
                _ms(started),
                ok=bool(outcome.get("pipeline", {}).get("valid")),
            )
            return outcome
        if call.name in DISCOVERY_TOOLS and self.state == State.INTENT_CAPTURED:
            self.transition(State.DISCOVERY)
        handler = HANDLERS.get(call.name)
        started = time.perf_counter()
        if handler is None:
            known = ", ".join(TOOL_NAMES)
            self._tool_result(
                call, {"error": f"Unknown tool '{call.name}'; tools: {known}."}, 0, ok=False
            )
            return None
        try:
            value = handler(self.ws, dict(call.arguments))
        except OsirisError as exc:
            self._tool_result(call, {"error": str(exc)}, _ms(started), ok=False)
            return None
        self._tool_result(call, value, _ms(started))
        return None

    def _tool_result(
        self, call: ToolCall, value: Any, duration_ms: int, *, ok: bool = True
    ) -> None:
        text = self.mask(json.dumps(value, ensure_ascii=False, default=str))
        arguments = self.mask(call.arguments)
        self.session.event(
            "chat_tool_call",
            tool=call.name,
            arguments=_brief_arguments(arguments),
            ok=ok,
            duration_ms=duration_ms,
            **(
                {}
                if ok
                else {"error": str(value.get("error", ""))[:300] if isinstance(value, dict) else ""}
            ),
        )
        self.store.add_tool_call(
            self.id, call.id, call.name, arguments, text, ok=ok, duration_ms=duration_ms
        )
        self._remember(Message("tool", text, tool_call_id=call.id, is_error=not ok))

    # -- proposals ---------------------------------------------------------------------------------
    def _propose(self, oml: str, summary: str, *, via: str) -> dict[str, Any]:
        """Validate; invalid goes back once (``retry``); valid is written, compiled and shown."""
        if self.state == State.REGENERATE_ONCE:
            self.transition(State.VALIDATE_OML)
        else:
            self.transition(State.OML_SYNTHESIS)
            self.transition(State.VALIDATE_OML)
        target = self._target_path(oml)
        checked = ops.validate_oml(self.ws, oml, path=target)
        if self.record.context.get("sql"):
            checked = _with_sql_check(checked, oml, self.record.context)
        errors = checked["errors"]
        self.store.add_proposal(
            self.id, oml, summary, valid=checked["valid"], errors=errors, path=target, via=via
        )
        self.session.event(
            "chat_proposal",
            valid=checked["valid"],
            errors=len(errors),
            via=via,
            path=target,
            oml=oml,
        )
        pipeline = {"path": target, "valid": checked["valid"], "errors": errors}
        if not checked["valid"]:
            result = {"valid": False, "errors": errors}
            if self.record.regenerations < self.options.max_regenerations:
                self.record.regenerations += 1
                self.store.update(self.id, regenerations=self.record.regenerations)
                self.transition(State.REGENERATE_ONCE)
                result["instruction"] = "Fix every error and call propose_pipeline again."
                return {"retry": True, "result": result, "pipeline": pipeline}
            result["instruction"] = "The person sees these errors and will answer."
            return {"result": result, "pipeline": pipeline, "summary": summary}
        self.transition(State.COMPILE)
        oml = proposals.with_intent(oml, self.record.context.get("intent"), self.id)
        saved = ops.save_oml(self.ws, target, oml)
        # compiled inside the chat's own state, never over a compiled/ the person made
        compiled = ops.compile_pipeline(self.ws, saved["path"], out=f".osiris/chat/{self.id}")
        if not compiled["ok"]:
            pipeline = {**pipeline, "valid": False, "errors": compiled["errors"]}
            self.transition(State.VALIDATE_OML)
            return {
                "result": {"valid": False, "errors": compiled["errors"]},
                "pipeline": pipeline,
                "summary": summary,
            }
        folder = saved["path"].rpartition("/")[0]
        shown = proposals.describe(oml, [s["id"] for s in compiled["steps"]], folder=folder)
        shown.update(oml=oml, summary=summary, path=saved["path"], warnings=checked["warnings"])
        self.store.update(self.id, pipeline_path=saved["path"])
        self.record.pipeline_path = saved["path"]
        self.transition(State.AWAITING_APPROVAL)
        result = {
            "valid": True,
            "path": saved["path"],
            "steps": [s["id"] for s in compiled["steps"]],
            "note": "Shown to the person for approval; it runs only after they approve.",
        }
        return {"result": result, "pipeline": pipeline, "proposal": shown, "summary": summary}

    def _target_path(self, oml: str) -> str:
        if self.options.out:
            return self.options.out
        if self.record.pipeline_path:
            return self.record.pipeline_path
        name = proposals.pipeline_name(oml)
        candidate = f"pipelines/{name}.yaml"
        if (self.ws.project_dir / candidate).exists():  # never overwrite someone else's file
            candidate = f"pipelines/{name}-{self.id.rsplit('_', 1)[-1]}.yaml"
        return candidate

    # -- approval and run --------------------------------------------------------------------------
    def approve(self, *, on_event: Any = None) -> TurnResult:
        """Run the proposal the person approved, through the same path as ``osiris run``."""
        if (
            self.state not in (State.AWAITING_APPROVAL, State.RUN, State.FAILED)
            or not self.record.pipeline_path
        ):
            raise InvalidInputError(
                f"Chat {self.id} has no pipeline awaiting approval (state {self.state.value}).",
                hint=f"Continue it with `osiris chat -m TEXT --session {self.id}`.",
            )
        path = self.record.pipeline_path
        try:
            oml = (self.ws.project_dir / path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(
                f"The proposed pipeline {path} cannot be read ({exc.strerror}).",
                hint=f"Ask for it again with `osiris chat -m TEXT --session {self.id}`.",
            ) from None
        self.store.update(self.id, approved_pipeline=oml, approved_at=_now())
        self.session.event("chat_approved", path=path)
        self.transition(State.RUN)
        run = ops.run_pipeline(self.ws, path, on_event=on_event)
        summary = {
            "session": run["session"],
            "ok": bool(run["ok"]),
            "rows_written": run["rows_written"],
        }
        self.store.update(
            self.id,
            run_session=run["session"],
            run_ok=int(bool(run["ok"])),
            rows_written=run["rows_written"],
        )
        self.session.event("chat_run", **summary, error=run.get("error"))
        self.transition(State.COMPLETE if run["ok"] else State.FAILED)
        reply = (
            f"The pipeline ran: {run['rows_written'] or 0} rows written (session {run['session']})."
            if run["ok"]
            else f"The run failed: {run.get('error')} (session {run['session']})."
        )
        return TurnResult(
            self.id,
            self.state.value,
            reply=reply,
            pipeline={"path": path, "valid": True, "errors": []},
            run={**summary, "error": run.get("error"), "steps": run.get("steps")},
        )


def _with_sql_check(checked: dict[str, Any], oml: str, context: dict[str, Any]) -> dict[str, Any]:
    """--sql mode: the pipeline must read with exactly the given query on the given connection."""
    if proposals.reads_query(oml, context["sql"], context.get("connection")):
        return checked
    error = {
        "path": "steps",
        "message": f"no read step runs the given query unchanged on {context.get('connection')}",
        "fix": "add a read step with config.connection and config.query exactly as given",
        "line": None,
        "column": None,
    }
    return {**checked, "valid": False, "errors": [*checked["errors"], error]}


def _no_tool_support(exc: LLMError) -> bool:
    """A 400 saying the model cannot use tools (Ollama: 'does not support tools')."""
    text = str(exc).lower()
    return "http 400" in text and "tool" in text and ("support" in text or "not allowed" in text)


class _RoundStream:
    """Streams text deltas, with a line break between the texts of successive model rounds."""

    def __init__(self, on_text: TextCallback) -> None:
        self.on_text = on_text
        self.written = False
        self.fresh = True

    def next_round(self) -> None:
        self.fresh = True

    def __call__(self, delta: str) -> None:
        if self.fresh and self.written and delta:
            self.on_text("\n")
        if delta:
            self.fresh = False
            self.written = True
            self.on_text(delta)


def _complete_history(messages: list[Message]) -> list[Message]:
    """A chat killed mid-turn may end with tool calls that have no result: answer them as
    interrupted so the history is one every provider accepts."""
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    note = json.dumps({"error": "interrupted before this call finished; call it again"})
    out: list[Message] = []
    for message in messages:
        out.append(message)
        for call in message.tool_calls if message.role == "assistant" else ():
            if call.id not in answered:
                out.append(Message("tool", note, tool_call_id=call.id, is_error=True))
    return out


def _brief_arguments(arguments: Any) -> Any:
    """Arguments for the event: long text (an OML, a question) is cut to its first characters."""
    if not isinstance(arguments, dict):
        return arguments
    return {
        k: (v[:200] + "…" if isinstance(v, str) and len(v) > 200 else v)
        for k, v in arguments.items()
    }


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _now() -> str:
    from osiris.session.paths import utc_now_iso

    return utc_now_iso()
