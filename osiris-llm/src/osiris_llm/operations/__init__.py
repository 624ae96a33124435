"""The operations behind the chat agent's tools and the MCP server's tools (one module, DESIGN §13).

Each function is a thin, secret-free, JSON-ready wrapper over the core code the CLI uses
(registry, connections and masking, discovery with its cache, the OML validator, the compiler,
the runner, the session store). Bad arguments raise ``InvalidInputError`` (one sentence naming
the argument); failures raise ``OsirisError``. Callers turn both into a tool error.
"""

from osiris_llm.operations.aiop import get_aiop
from osiris_llm.operations.catalog import get_component, list_components, oml_schema
from osiris_llm.operations.connections import (
    MAX_SAMPLE_ROWS,
    discover,
    doctor_connections,
    list_connections,
    sample,
)
from osiris_llm.operations.pipelines import (
    compile_pipeline,
    run_pipeline,
    save_oml,
    validate_file,
    validate_oml,
)
from osiris_llm.operations.runs import list_runs, show_run
from osiris_llm.operations.workspace import Workspace

__all__ = [
    "MAX_SAMPLE_ROWS",
    "Workspace",
    "compile_pipeline",
    "discover",
    "doctor_connections",
    "get_aiop",
    "get_component",
    "list_components",
    "list_connections",
    "list_runs",
    "oml_schema",
    "run_pipeline",
    "sample",
    "save_oml",
    "show_run",
    "validate_file",
    "validate_oml",
]
