"""Shared by every filesystem driver: path resolution, globbing, type strings, atomic writes."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

if TYPE_CHECKING:
    import pyarrow as pa
    from osiris.context import StepContext
    from osiris.stepdata import StepData

    from osiris_driver_filesystem.textcodec import Unprintable

_GLOB_CHARS = re.compile(r"[*?\[]")


def base_dir(ctx: StepContext) -> Path:
    """The connection's ``base_dir`` when one is referenced (relative to the pipeline), else the
    pipeline's directory."""
    ref = ctx.connection_ref
    if ref and not (ref == "@filesystem" or ref.startswith("@filesystem.")):
        raise StepError(
            ctx.step_id,
            f"connection {ref} is not a filesystem connection.",
            hint="Use connection: '@filesystem.<alias>' (a base_dir) or no connection.",
        )
    conn_base = (ctx.connection or {}).get("base_dir")
    if conn_base:
        return (Path(ctx.base_dir) / os.path.expanduser(str(conn_base))).resolve()
    return Path(ctx.base_dir)


def resolve(ctx: StepContext, path: str) -> Path:
    return base_dir(ctx) / os.path.expanduser(path)


def input_files(step_id: str, ctx: StepContext, path: str) -> list[Path]:
    """The files an extractor reads: one path, or every match of a glob in sorted order."""
    target = resolve(ctx, path)
    if _GLOB_CHARS.search(path):
        root = base_dir(ctx)  # only the pattern is a pattern, not the directory it is under
        pattern = os.path.expanduser(path)
        matches = sorted(root / p for p in glob.glob(pattern, root_dir=root, recursive=True))
        files = [p for p in matches if p.is_file()]
        if not files:
            raise StepError(step_id, f"the pattern '{path}' matches no file under {base_dir(ctx)}.")
        return files
    if target.is_dir():
        raise StepError(
            step_id, f"{target} is a directory, expected a file (use a glob such as 'dir/*.csv')."
        )
    if not target.exists():
        raise StepError(step_id, f"file {target} does not exist.")
    return [target]


def output_file(step_id: str, ctx: StepContext, path: str, *, create_dirs: bool) -> Path:
    """The target of a writer, checked before any data is read."""
    target = resolve(ctx, path)
    if target.is_dir():
        raise StepError(step_id, f"{target} is a directory, expected a file path to write.")
    if not target.parent.exists():
        if not create_dirs:
            raise StepError(
                step_id,
                f"directory {target.parent} does not exist.",
                hint="Create it or set create_dirs: true.",
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StepError(
                step_id, f"cannot create directory {target.parent} ({exc.strerror})."
            ) from exc
    if not os.access(target.parent, os.W_OK):
        raise StepError(step_id, f"directory {target.parent} is not writable.")
    return target


def single_input(step_id: str, inputs: Mapping[str, StepData]) -> pa.RecordBatchReader:
    """Writers take exactly one upstream output."""
    if len(inputs) != 1:
        names = ", ".join(sorted(inputs)) or "none"
        raise StepError(step_id, f"a writer needs exactly one input, got {len(inputs)} ({names}).")
    return next(iter(inputs.values())).reader()


_TYPE_RE = re.compile(r"^\s*([a-z_0-9]+)\s*(?:\((.*)\)|\[(.*)\])?\s*$", re.IGNORECASE)
_SIMPLE = {
    "bool": "bool_",
    "boolean": "bool_",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "float16": "float16",
    "float32": "float32",
    "float": "float32",
    "float64": "float64",
    "double": "float64",
    "string": "string",
    "utf8": "string",
    "large_string": "large_string",
    "binary": "binary",
    "large_binary": "large_binary",
    "date32": "date32",
    "date64": "date64",
    "null": "null",
}


def parse_type(text: str) -> pa.DataType:
    """An Arrow type from its usual spelling: ``int64``, ``decimal128(12,2)``,
    ``timestamp[us, tz=UTC]``, ``date32``, ``string``, ``bool``. Raises ValueError."""
    import pyarrow as pa

    match = _TYPE_RE.match(str(text))
    if not match:
        raise ValueError(f"'{text}' is not an Arrow type")
    name, paren, bracket = match.group(1).lower(), match.group(2), match.group(3)
    if name in _SIMPLE and paren is None and (bracket is None or name == "date32"):
        return getattr(pa, _SIMPLE[name])()
    if name in ("decimal", "decimal128", "decimal256") and paren:
        precision, _, scale = paren.partition(",")
        factory = pa.decimal256 if name == "decimal256" else pa.decimal128
        return factory(int(precision), int(scale or 0))
    if name in ("timestamp", "time32", "time64", "duration") and bracket:
        unit, _, rest = bracket.partition(",")
        unit = unit.strip()
        if name == "timestamp":
            tz = rest.strip().removeprefix("tz=").strip() or None
            return pa.timestamp(unit, tz=tz)
        return getattr(pa, name)(unit)
    raise ValueError(f"'{text}' is not an Arrow type")


def parse_schema(step_id: str, schema: Mapping[str, str] | None) -> dict[str, pa.DataType]:
    """The ``schema:`` config (column -> type string) as Arrow types, with a clear error."""
    types = {}
    for column, text in (schema or {}).items():
        try:
            types[column] = parse_type(text)
        except (ValueError, TypeError) as exc:
            raise StepError(
                step_id,
                f"schema: column '{column}' has type '{text}', which is not an Arrow type",
                hint="Use e.g. int64, float64, decimal128(12,2), string, bool, date32,"
                " timestamp[us], timestamp[us, tz=UTC], binary.",
            ) from exc
    return types


BLOCK_SIZE = 1 << 20
"""Bytes of CSV/JSON parsed at a time (``block_size``): pyarrow reads ahead a bounded number of
blocks, so this sets the reader's memory; one record must fit in a block."""


def block_size(config: Mapping[str, Any]) -> int:
    return int(config.get("block_size", BLOCK_SIZE))


def straddling_error(step_id: str, path: Path, config: Mapping[str, Any]) -> StepError:
    return StepError(
        step_id,
        f"{path}: a record is larger than block_size ({block_size(config)} bytes).",
        hint="Raise block_size: in the step's config.",
    )


def first_bad_row(values: pa.Array, target: pa.DataType) -> tuple[int, Any] | None:
    """The first value of ``values`` that does not cast to ``target`` (0-based), for errors."""
    import pyarrow as pa

    for index in range(len(values)):
        scalar = values[index]
        try:
            scalar.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return index, scalar.as_py()
    return None


def unprintable_error(step_id: str, exc: Unprintable, offset: int) -> StepError:
    """A date or timestamp a text file cannot hold, by column and row."""
    return StepError(
        step_id,
        f"column '{exc.column}', row {offset + exc.index + 1}: the value is beyond the years"
        " -32767 to 32767, which dates and timestamps in text files are written for.",
        hint="Write it to Parquet (filesystem.parquet_writer), which keeps it.",
    )


def reorder(reader: pa.RecordBatchReader, names: list[str]) -> pa.RecordBatchReader:
    """The same stream with columns in ``names`` order."""
    import pyarrow as pa

    schema = pa.schema([reader.schema.field(n) for n in names])
    return pa.RecordBatchReader.from_batches(schema, (b.select(names) for b in reader))


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success rename it over the target, on any
    failure remove it, so the target is either the old file or the complete new one."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def counted(
    batches: Iterator[pa.RecordBatch], on_done: Callable[[int], None]
) -> Iterator[pa.RecordBatch]:
    """Pass batches through and report the row count once the stream is exhausted."""
    rows = 0
    for batch in batches:
        rows += batch.num_rows
        yield batch
    on_done(rows)


def limited(batches: Iterator[pa.RecordBatch], limit: int | None) -> Iterator[pa.RecordBatch]:
    """Stop after ``limit`` rows (None: no limit)."""
    if limit is None:
        yield from batches
        return
    left = limit
    for batch in batches:
        if left <= 0:
            return
        if batch.num_rows > left:
            batch = batch.slice(0, left)
        left -= batch.num_rows
        yield batch


class FileWriter:
    """A format's writer: ``write`` puts the rows in a file; ``run`` is the flow every format
    shares: check the target, order columns, write to a temporary file, verify it (osiris.verify:
    its rows, and with ``verify: checksum`` its content read back), rename, report."""

    def write(
        self, step_id: str, config: Mapping[str, Any], tmp: Path, reader: pa.RecordBatchReader
    ) -> int:
        raise NotImplementedError

    def count_rows(
        self, step_id: str, config: Mapping[str, Any], tmp: Path, schema: pa.Schema
    ) -> int:
        """The rows the written file holds, counted from the file itself."""
        raise NotImplementedError

    def read_back(
        self, step_id: str, config: Mapping[str, Any], tmp: Path, schema: pa.Schema
    ) -> pa.RecordBatchReader:
        """The written file as the format's extractor reads it, with ``schema``'s types."""
        raise NotImplementedError

    def _verify(
        self,
        step_id: str,
        config: Mapping[str, Any],
        tmp: Path,
        schema: pa.Schema,
        rows: int,
        checksum: Any,
        target: Path,
    ) -> None:
        from osiris import verify

        where = str(target)
        found = self.count_rows(step_id, config, tmp, schema)
        verify.require_count(
            step_id,
            received=rows,
            found=found,
            target=where,
            how="the written file holds",
            hint=verify.FILE_HINT,
        )
        if checksum is not None:
            written = verify.ArrowChecksum(checksum.schema, rows=False)
            try:
                for batch in self.read_back(step_id, config, tmp, checksum.schema):
                    written.update(batch)
            finally:
                written.close()
            verify.compare_columns(
                step_id, checksum.sums, written.sums, where, hint=verify.FILE_HINT
            )

    def run(
        self,
        *,
        step_id: str,
        config: dict,
        inputs: dict[str, StepData],
        ctx: StepContext,
    ) -> dict:
        create_dirs = config.get("create_dirs", True)
        target = output_file(step_id, ctx, config["path"], create_dirs=create_dirs)
        reader = single_input(step_id, inputs)
        if config.get("sort_columns", False):
            reader = reorder(reader, sorted(reader.schema.names))
        from osiris import verify

        mode = verify.mode_for(step_id, config, ctx)
        # both sides are checksummed here, per column: no row checksum needed (it would only
        # spare a database target the costlier per-column pass)
        checksum = verify.ArrowChecksum(reader.schema, rows=False) if mode == "checksum" else None
        if checksum is not None:
            reader = checksum.wrap(reader)
        try:
            with atomic_file(target) as tmp:
                rows = self.write(step_id, config, tmp, reader)
                self._verify(step_id, config, tmp, reader.schema, rows, checksum, target)
        finally:
            if checksum is not None:
                checksum.close()
        verify.record(
            ctx,
            rows,
            mode=mode,
            target=str(target),
            checked=[c.name for c in checksum.columns] if checksum else None,
            unchecked=checksum.unchecked if checksum else None,
        )
        ctx.log_metric("rows_written", rows, "rows", path=str(target))
        ctx.log_metric("bytes_written", target.stat().st_size, "bytes", path=str(target))
        ctx.log_event("file_written", path=str(target), rows=rows)
        return {}


class FileExtractor:
    """A format's extractor: ``opener`` opens one file; ``run`` is the flow every format shares:
    open the first file for its schema, then stream every matched file in order, checking each
    file's schema against the first."""

    def canonical(self, config: dict) -> dict:
        """The config with the format's aliases resolved; as given by default."""
        return config

    def opener(
        self, step_id: str, config: Mapping[str, Any], pinned: dict[str, pa.DataType]
    ) -> Callable[[Path], pa.RecordBatchReader]:
        raise NotImplementedError

    def run(
        self,
        *,
        step_id: str,
        config: dict,
        inputs: dict[str, StepData],
        ctx: StepContext,
    ) -> dict:
        import pyarrow as pa

        config = self.canonical(config)
        files = input_files(step_id, ctx, config["path"])
        open_file = self.opener(step_id, config, parse_schema(step_id, config.get("schema")))
        first = open_file(files[0])
        schema = first.schema

        def batches() -> Iterator[pa.RecordBatch]:
            for index, path in enumerate(files):
                reader = first if index == 0 else open_file(path)
                if not reader.schema.equals(schema):
                    raise StepError(
                        step_id,
                        f"{path} has columns {_describe(reader.schema)} but {files[0]} has"
                        f" {_describe(schema)}; every file matched by the pattern must have the"
                        " same schema.",
                        hint="Pin the types with schema: or read the files in separate steps.",
                    )
                yield from reader

        def done(rows: int) -> None:
            ctx.log_metric("rows_read", rows, "rows")
            ctx.log_metric("bytes_read", sum(p.stat().st_size for p in files), "bytes")

        ctx.log_event("files_matched", files=[str(p) for p in files])
        stream = counted(limited(batches(), config.get("limit")), done)
        return {"df": pa.RecordBatchReader.from_batches(schema, stream)}


def _describe(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name} {f.type}" for f in schema) + ")"
