"""The MCP tools: fixed names, input schemas, descriptions and annotations over the operations.

Kept free of the ``mcp`` SDK so the table is easy to read and test; ``server.py`` turns it into
protocol objects. Every tool calls exactly one function of ``osiris_llm.operations``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from osiris_llm import operations as ops

Progress = Callable[[float, float | None, str | None], None]
"""``(progress, total, message)``: how a long tool reports progress (MCP progress notifications)."""

WRITING_TOOLS = frozenset({"oml_save", "compile", "run"})
"""Removed by ``--read-only``."""

_REFERENCE = {
    "type": "string",
    "pattern": "^@[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)?$",
    "description": "Connection reference '@family.alias' (or '@family' for its default), as listed"
    " by connections_list.",
}
_PATH = {"type": "string", "minLength": 1, "description": "Path relative to the project directory."}
_PARAMS = {
    "type": "object",
    "additionalProperties": {"type": ["string", "number", "integer", "boolean"]},
    "description": "Pipeline parameters NAME: VALUE (override the file's params defaults).",
}
_PROFILE = {"type": "string", "minLength": 1, "description": "A profile defined in the OML file."}


def _schema(properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties or {},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


@dataclass(frozen=True)
class ToolSpec:
    """One tool as clients see it, and the function that serves it."""

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    call: Callable[[ops.Workspace, dict[str, Any], Progress], Any]
    read_only: bool
    destructive: bool = False
    idempotent: bool = True
    open_world: bool = False
    """Reaches systems outside the project (databases, APIs) when True."""
    result_key: str | None = field(default=None)
    """Lists are wrapped as ``{result_key: [...]}`` (structured results are objects)."""


def _run(ws: ops.Workspace, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    state = {"total": None, "done": 0}

    def on_event(kind: str, record: dict[str, Any]) -> None:
        if kind != "event":
            return
        event = record.get("event")
        if event == "adapter_prepare_start":
            state["total"] = record.get("steps")
            progress(0, state["total"], "running")
        elif event in ("step_complete", "step_error", "step_skipped"):
            state["done"] += 1
            word = {"step_complete": "done", "step_error": "failed", "step_skipped": "skipped"}
            rows = record.get("rows")
            tail = f", {rows} rows" if isinstance(rows, int) else ""
            progress(state["done"], state["total"], f"{record.get('step_id')} {word[event]}{tail}")
        elif event == "compile_complete":
            progress(0, None, "compiled")

    return ops.run_pipeline(
        ws,
        args["path"],
        params=args.get("params"),
        profile=args.get("profile"),
        adapter=args.get("adapter", "local"),
        on_event=on_event,
    )


def _validate(ws: ops.Workspace, args: dict[str, Any], _: Progress) -> dict[str, Any]:
    options = {"params": args.get("params"), "profile": args.get("profile")}
    if "oml" in args:
        return ops.validate_oml(ws, args["oml"], path=args.get("path"), **options)
    if "path" in args:
        return ops.validate_file(ws, args["path"], **options)
    from osiris.errors import InvalidInputError

    raise InvalidInputError("Give the argument 'oml' (YAML text) or 'path' (an OML file).")


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "connections_list",
        "List connections",
        "List the connections configured in osiris_connections.yaml: reference (@family.alias),"
        " family, whether it is the default, its non-secret fields and the names of its secret"
        " fields (values are never shown). Use a reference in a step's config.connection.",
        _schema(),
        lambda ws, a, p: ops.list_connections(ws),
        read_only=True,
        result_key="connections",
    ),
    ToolSpec(
        "connections_doctor",
        "Check connections",
        "Check that connections work (log in, reach the server): all of them, or the one"
        " 'reference' names. Each result has ok, a category (auth, network, timeout, config, ...)"
        " and a message saying what to fix.",
        _schema({"reference": _REFERENCE}),
        lambda ws, a, p: ops.doctor_connections(ws, a.get("reference")),
        read_only=True,
        open_world=True,
        result_key="results",
    ),
    ToolSpec(
        "components_list",
        "List components",
        "List the installed components (extractors, writers, processors) with their modes and a"
        " one-line description. Call component_get for a component's config schema and examples"
        " before writing a step that uses it.",
        _schema(),
        lambda ws, a, p: ops.list_components(ws),
        read_only=True,
        result_key="components",
    ),
    ToolSpec(
        "component_get",
        "Get a component's spec",
        "Get one component's full spec: configSchema (the keys a step's config may have),"
        " examples, llmHints and modes. Write step configs from this, not from memory.",
        _schema(
            {"name": {"type": "string", "minLength": 1, "description": "e.g. mysql.extractor"}},
            ("name",),
        ),
        lambda ws, a, p: ops.get_component(ws, a["name"]),
        read_only=True,
    ),
    ToolSpec(
        "discover",
        "Discover a connection's tables",
        "Describe what a connection holds: tables and views with columns, types, nullability,"
        " primary keys and row estimates (cached; refresh: true discovers again). 'samples' adds"
        " up to 20 example rows per table when the server allows samples. Use it before writing"
        " queries so column names are exact.",
        _schema(
            {
                "reference": _REFERENCE,
                "tables": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "description": "Only these tables (default: all).",
                },
                "refresh": {"type": "boolean", "description": "Ignore the discovery cache."},
                "samples": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": ops.MAX_SAMPLE_ROWS,
                    "description": "Example rows per table (default 0).",
                },
            },
            ("reference",),
        ),
        lambda ws, a, p: ops.discover(
            ws,
            a["reference"],
            tables=a.get("tables"),
            refresh=a.get("refresh", False),
            samples=a.get("samples", 0),
        ),
        read_only=True,
        open_world=True,
    ),
    ToolSpec(
        "oml_schema",
        "OML JSON Schema",
        "Get the JSON Schema of an OML v0.1.0 pipeline file (top-level keys, steps, and each"
        ' installed component\'s config). Pipelines are YAML: oml_version "0.1.0", name, steps.',
        _schema(),
        lambda ws, a, p: ops.oml_schema(ws),
        read_only=True,
    ),
    ToolSpec(
        "oml_validate",
        "Validate OML",
        "Validate a pipeline against OML v0.1.0 and the installed components, as `osiris oml"
        " validate` does. Give the YAML text as 'oml' (with 'path' where it will be saved, for"
        " relative file paths) or only 'path' of a file in the project. Returns valid, and errors"
        " and warnings each with path, message and fix: apply the fixes and validate again.",
        _schema(
            {
                "oml": {"type": "string", "minLength": 1},
                "path": _PATH,
                "params": _PARAMS,
                "profile": _PROFILE,
            }
        ),
        _validate,
        read_only=True,
    ),
    ToolSpec(
        "oml_save",
        "Save OML",
        "Save pipeline YAML to a .yaml/.yml file inside the project, replacing that file if it"
        " exists. Invalid OML is not saved (the errors are returned) unless force: true.",
        _schema(
            {
                "path": _PATH,
                "oml": {"type": "string", "minLength": 1},
                "force": {"type": "boolean", "description": "Save even if invalid."},
            },
            ("path", "oml"),
        ),
        lambda ws, a, p: ops.save_oml(ws, a["path"], a["oml"], force=a.get("force", False)),
        read_only=False,
        destructive=True,
    ),
    ToolSpec(
        "compile",
        "Compile a pipeline",
        "Compile an OML file into a deterministic, fingerprinted manifest (default directory"
        " compiled/, replacing an earlier compile there). Returns ok, the step order and the"
        " fingerprints, or the validation errors.",
        _schema(
            {
                "path": _PATH,
                "params": _PARAMS,
                "profile": _PROFILE,
                "out": {
                    **_PATH,
                    "description": "Output directory in the project (default compiled).",
                },
            },
            ("path",),
        ),
        lambda ws, a, p: ops.compile_pipeline(
            ws,
            a["path"],
            params=a.get("params"),
            profile=a.get("profile"),
            out=a.get("out", "compiled"),
        ),
        read_only=False,
    ),
    ToolSpec(
        "run",
        "Run a pipeline",
        "Run an OML file (or a compiled directory) now, as `osiris run` does: it reads sources and"
        " WRITES to the pipeline's targets. Reports progress per step and returns the session id,"
        " status, rows per step, rows written and the first error. Read it again with run_show.",
        _schema(
            {
                "path": _PATH,
                "params": _PARAMS,
                "profile": _PROFILE,
                "adapter": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Execution adapter: local (default) or e2b when installed.",
                },
            },
            ("path",),
        ),
        _run,
        read_only=False,
        destructive=True,
        idempotent=False,
        open_world=True,
    ),
    ToolSpec(
        "runs_list",
        "List runs",
        "List recent pipeline runs, newest first: session id, pipeline, status, start, duration,"
        " number of steps and error.",
        _schema(
            {
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 200,
                    "description": "Default 20.",
                }
            }
        ),
        lambda ws, a, p: ops.list_runs(ws, a.get("limit", 20)),
        read_only=True,
        result_key="runs",
    ),
    ToolSpec(
        "run_show",
        "Show a run",
        "Show one run: status, per-step status, rows and duration, rows written and the first"
        " error. 'session' is an id from run or runs_list (a unique prefix, or 'last').",
        _schema({"session": {"type": "string", "minLength": 1}}, ("session",)),
        lambda ws, a, p: ops.show_run(ws, a["session"]),
        read_only=True,
    ),
)


AIOP_TOOL = ToolSpec(
    "aiop_get",
    "Get a run's AI Operation Package",
    "Get the AI Operation Package (AIOP) of a run: evidence (events, metrics, errors with ids),"
    " semantic (the pipeline's DAG and components), narrative and metadata, built like `osiris"
    " logs aiop`; format md gives the short Markdown run card instead. Use it to explain a run"
    " or diagnose a failure.",
    _schema(
        {
            "session": {"type": "string", "minLength": 1, "description": "Run id, prefix or last."},
            "format": {"enum": ["json", "md"], "description": "json (default) or md."},
        },
        ("session",),
    ),
    lambda ws, a, p: ops.get_aiop(ws, a["session"], format=a.get("format", "json")),
    read_only=True,
)
"""Offered when core has the AIOP builder (``osiris.report``)."""


def tools_for(*, read_only: bool) -> list[ToolSpec]:
    """The tools a server offers; ``--read-only`` leaves out those that write."""
    import importlib.util

    tools = [t for t in TOOLS if not (read_only and t.name in WRITING_TOOLS)]
    if importlib.util.find_spec("osiris.report.export") is not None:
        tools.append(AIOP_TOOL)
    return tools
