"""The ``filesystem`` connection family: a base directory that paths resolve against."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from osiris.families import ConnectionFamily, DoctorResult

_DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".json", ".jsonl", ".ndjson", ".csv.gz", ".jsonl.gz")


class FilesystemFamily(ConnectionFamily):
    """``connections: {filesystem: {local: {base_dir: ./data}}}``."""

    name: ClassVar[str] = "filesystem"
    schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "required": ["base_dir"],
        "properties": {
            "base_dir": {
                "type": "string",
                "minLength": 1,
                "description": "Directory that the steps' paths are relative to.",
            },
            "default": {"type": "boolean"},
            "description": {"type": "string"},
        },
        "additionalProperties": False,
    }

    def doctor(self, connection: Mapping[str, Any]) -> DoctorResult:
        """The directory must exist and accept a new file."""
        started = time.perf_counter()
        base = Path(os.path.expanduser(str(connection.get("base_dir", ""))))
        if not base.exists():
            return DoctorResult(False, "config", f"base_dir {base} does not exist.")
        if not base.is_dir():
            return DoctorResult(False, "config", f"base_dir {base} is not a directory.")
        try:
            with tempfile.TemporaryFile(dir=base):
                pass
        except OSError as exc:
            return DoctorResult(
                False, "permission", f"base_dir {base} is not writable ({exc.strerror})."
            )
        latency = (time.perf_counter() - started) * 1000
        return DoctorResult(True, "ok", f"base_dir {base} exists and is writable.", latency)

    def discover(
        self,
        connection: Mapping[str, Any],
        *,
        tables: list[str] | None = None,
        samples: int = 5,
    ) -> dict[str, Any]:
        """Every data file under base_dir (or the given relative paths) with its inferred
        schema and the first ``samples`` rows."""
        base = Path(os.path.expanduser(str(connection["base_dir"])))
        if not base.is_dir():  # else a typo in base_dir would read as "no files yet"
            from osiris.errors import OsirisError

            problem = "is not a directory" if base.exists() else "does not exist"
            raise OsirisError(f"base_dir {base} {problem}.")
        if tables:
            paths = [base / t for t in tables]
        else:
            paths = sorted(
                p
                for p in base.rglob("*")
                if p.is_file() and p.name.lower().endswith(_DATA_SUFFIXES)
            )
        found = []
        for path in paths:
            entry: dict[str, Any] = {
                "name": path.relative_to(base).as_posix(),
                "format": _format(path),
            }
            try:
                table = _sample(path, samples)
            except Exception as exc:  # one unreadable file must not hide the others
                entry["error"] = str(exc).splitlines()[0]
            else:
                entry["columns"] = [{"name": f.name, "type": str(f.type)} for f in table.schema]
                entry["sample_rows"] = _jsonable(table.to_pylist())
            found.append(entry)
        return {"tables": found}


def _format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".json", ".jsonl", ".ndjson")):
        return "json"
    return "csv"


def _sample(path: Path, rows: int) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fmt = _format(path)
    if fmt == "parquet":
        parquet = pq.ParquetFile(str(path))
        batch = next(parquet.iter_batches(batch_size=max(rows, 1)), None)
        return pa.Table.from_batches([batch] if batch else [], parquet.schema_arrow).slice(0, rows)
    from osiris.testing import make_context

    from osiris_driver_filesystem.csv_io import CsvExtractor
    from osiris_driver_filesystem.json_io import JsonExtractor

    driver = JsonExtractor() if fmt == "json" else CsvExtractor()
    config: dict[str, Any] = {"path": path.name, "limit": rows}
    if path.name.lower().endswith(".tsv"):
        config["delimiter"] = "\t"
    with tempfile.TemporaryDirectory() as tmp:
        ctx, _ = make_context(Path(tmp), step_id="discover", base_dir=path.parent)
        return driver.run(step_id="discover", config=config, inputs={}, ctx=ctx)["df"].read_all()


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sample values as JSON-friendly text where JSON has no type for them."""
    import base64

    def convert(value: Any) -> Any:
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        if value is None or isinstance(value, bool | int | float | str):
            return value
        return str(value)

    return [{k: convert(v) for k, v in row.items()} for row in rows]
