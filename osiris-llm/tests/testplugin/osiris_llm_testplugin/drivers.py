"""Drivers of the memtest components."""

from __future__ import annotations

import json
from pathlib import Path


class Extractor:
    def run(self, *, step_id, config, inputs, ctx):
        import pyarrow as pa

        from osiris_llm_testplugin.family import read_tables

        if config.get("crash"):
            raise RuntimeError(f"driver exploded while holding token {ctx.connection['token']}")
        rows = read_tables(ctx.connection)[config["table"]]
        ctx.log_metric("rows_read", len(rows), "rows")
        return {"df": pa.Table.from_pylist(rows)}


class Writer:
    def run(self, *, step_id, config, inputs, ctx):
        (data,) = inputs.values()
        rows = data.to_table().to_pylist()
        target = Path(ctx.base_dir) / config["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows), "utf-8")
        ctx.log_metric("rows_written", len(rows), "rows")
        return {}
