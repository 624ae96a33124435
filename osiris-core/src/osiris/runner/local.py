"""The ``local`` execution adapter (being built: see the runner issue)."""

from __future__ import annotations

from osiris.adapters import ExecutionAdapter


class LocalAdapter(ExecutionAdapter):
    name = "local"

    def prepare(self, manifest, ctx):
        raise NotImplementedError

    def execute(self, prepared, ctx):
        raise NotImplementedError

    def collect(self, prepared, ctx):
        raise NotImplementedError
