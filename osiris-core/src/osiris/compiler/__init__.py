"""The deterministic compiler: OML → ``manifest.yaml`` + ``cfg/<step>.json`` + ``meta.json``."""

from osiris.compiler.canonical import canonical_json, fingerprint, pretty_json
from osiris.compiler.compile import CompileResult, compile_pipeline

__all__ = ["CompileResult", "canonical_json", "compile_pipeline", "fingerprint", "pretty_json"]
