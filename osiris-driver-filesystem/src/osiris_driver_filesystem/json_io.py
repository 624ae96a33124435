"""``filesystem.json_extractor`` and ``filesystem.json_writer``: JSON Lines and JSON arrays.

Both formats go through pyarrow's streaming JSON Lines reader: a JSON array is turned into
lines on the fly (each element's exact text, whitespace newlines folded), so arrays stream too
and numbers keep their exact text.
"""

from __future__ import annotations

import base64
import codecs
import datetime
import decimal
import functools
import io
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

from osiris_driver_filesystem import common, textcodec

if TYPE_CHECKING:
    import pyarrow as pa

_CHUNK = 1 << 20
_WRITE_ROWS = 10_000


def _compression(config: Mapping[str, Any]) -> str | None:
    value = config.get("compression", "infer")
    return {"infer": "detect", "none": None}.get(value, value)


class ArrayLines(io.RawIOBase):
    """A readable file of JSON Lines made from a JSON array, streamed element by element."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._text = ""
        self._pos = 0
        self._eof = False
        self._state = "start"  # start -> items -> done
        self._out = bytearray()  # amortised appends: bytes += would copy the buffer per line

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._source.read(_CHUNK)
        if not chunk:
            self._eof = True
            self._text += self._decoder.decode(b"", final=True)
            return False
        self._text = self._text[self._pos :] + self._decoder.decode(chunk)
        self._pos = 0
        return True

    def _skip_ws(self) -> str:
        while True:
            while self._pos < len(self._text) and self._text[self._pos] in " \t\r\n":
                self._pos += 1
            if self._pos < len(self._text):
                return self._text[self._pos]
            if not self._fill():
                return ""

    def _next_line(self) -> bytes:
        if self._state == "start":
            if self._skip_ws() == "\ufeff":  # a UTF-8 byte order mark, as _is_array allows
                self._pos += 1
            if self._skip_ws() != "[":
                raise ValueError("the file does not start with '['")
            self._pos += 1
            self._state = "first"
        if self._state == "done":
            return b""
        char = self._skip_ws()
        if char == "]":
            self._pos += 1
            self._state = "done"
            self._expect_end()
            return b""
        if self._state == "items":
            if char != ",":
                raise ValueError(f"expected ',' or ']' but found {char or 'the end of the file'!r}")
            self._pos += 1
            self._skip_ws()
        self._state = "items"
        while True:
            try:
                _, end = self._json.raw_decode(self._text, self._pos)
                break
            except json.JSONDecodeError as exc:
                if not self._fill():
                    raise ValueError(f"malformed JSON array element: {exc.msg}") from exc
        raw = self._text[self._pos : end]
        self._pos = end
        return (raw.replace("\r", " ").replace("\n", " ") + "\n").encode("utf-8")

    def _expect_end(self) -> None:
        """Only whitespace may follow the closing ']': a second array or more objects after it
        would otherwise be dropped without a word."""
        rest = self._skip_ws()
        if rest:
            raise ValueError(f"unexpected {rest!r} after the closing ']' of the array")

    def readinto(self, buffer: Any) -> int:
        while len(self._out) < len(buffer):
            line = self._next_line()
            if not line:
                break
            self._out += line
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        del self._out[:size]
        return size


def _is_array(config: Mapping[str, Any], path: Path) -> bool:
    fmt = config.get("format", "auto")
    if fmt != "auto":
        return fmt == "array"
    import pyarrow as pa

    with pa.input_stream(str(path), compression=_compression(config)) as stream:
        head = stream.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    return head.startswith("[")


def _native(type_: pa.DataType) -> bool:
    """Types pyarrow's JSON reader parses straight from JSON values."""
    import pyarrow as pa

    return (
        pa.types.is_integer(type_)
        or pa.types.is_floating(type_)
        or pa.types.is_boolean(type_)
        or pa.types.is_string(type_)
        or pa.types.is_null(type_)
        or pa.types.is_decimal(type_)  # from numbers and strings, digit for digit
    )


class JsonExtractor(common.FileExtractor):
    """Streams JSON Lines or a JSON array (``format: auto`` looks at the first character)."""

    def opener(
        self, step_id: str, config: Mapping[str, Any], pinned: dict[str, pa.DataType]
    ) -> Callable[[Path], pa.RecordBatchReader]:
        return functools.partial(_open_json, step_id, config, pinned)


def _lines(config: Mapping[str, Any], path: Path, array: bool) -> Any:
    import pyarrow as pa

    stream = pa.input_stream(str(path), compression=_compression(config))
    if array:
        return pa.PythonFile(io.BufferedReader(ArrayLines(stream), _CHUNK), mode="r")
    return stream


def _records(
    config: Mapping[str, Any], path: Path, array: bool, **loads: Any
) -> Iterator[tuple[int, Any, int]]:
    """(1-based row, parsed record, size of its line) for every non-blank line, parsed in Python:
    for the checks and error paths that must look at values pyarrow does not report."""
    source = _lines(config, path, array)
    try:
        row = 0
        for raw in source if array else io.BufferedReader(source):
            if raw.strip():
                row += 1
                yield row, json.loads(raw, **loads), len(raw)
    finally:
        source.close()


def _refuse_overflowed_integers(
    step_id: str,
    config: Mapping[str, Any],
    path: Path,
    array: bool,
    schema: pa.Schema,
    pinned: Mapping[str, Any],
) -> None:
    """pyarrow infers whole numbers beyond int64 as float64, which changes them (20-digit ids
    lose their last digits): refuse, and say how to pin the field. Looks at the first block,
    where the types are inferred."""
    import pyarrow as pa

    floats = {f.name for f in schema if pa.types.is_floating(f.type) and f.name not in pinned}
    if not floats:
        return
    whole: dict[str, bool] = dict.fromkeys(floats, True)
    big: dict[str, int] = {}
    budget = common.block_size(config)
    try:
        for _, record, size in _records(config, path, array):
            for name in floats & set(record if isinstance(record, dict) else ()):
                value = record[name]
                if isinstance(value, float):
                    whole[name] = False
                elif isinstance(value, int) and not -(2**63) <= value < 2**63:
                    big.setdefault(name, value)
            budget -= size
            if budget <= 0:
                break
    except ValueError:
        return  # not this check's business: the read itself reports malformed JSON
    for name, value in big.items():
        if whole[name]:
            raise StepError(
                step_id,
                f"{path}: field '{name}' holds whole numbers beyond int64 (e.g. {value}), which"
                " would be read as inexact floats.",
                hint=f"Pin it: schema: {{{name}: decimal128(38, 0)}}.",
            )


def _first_keys(config: Mapping[str, Any], path: Path, array: bool) -> list[str]:
    """Key order of the first object: the column order of the data."""
    source = _lines(config, path, array)
    try:
        for raw in source if array else io.BufferedReader(source):
            line = raw.strip()
            if line:
                return list(json.loads(line))
    except (ValueError, TypeError):
        return []
    finally:
        source.close()
    return []


def _open_json(
    step_id: str, config: Mapping[str, Any], pinned: dict[str, pa.DataType], path: Path
) -> pa.RecordBatchReader:
    import pyarrow as pa
    import pyarrow.json as pj

    array = _is_array(config, path)
    explicit = pa.schema(
        [(name, type_ if _native(type_) else pa.string()) for name, type_ in pinned.items()]
    )
    parse = pj.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="infer")
    try:
        reader = pj.open_json(
            _lines(config, path, array),
            read_options=pj.ReadOptions(block_size=common.block_size(config)),
            parse_options=parse,
        )
    except (pa.ArrowInvalid, ValueError, UnicodeDecodeError) as exc:
        if "Empty JSON stream" in str(exc):  # no objects: no rows, only the pinned columns
            return pa.RecordBatchReader.from_batches(pa.schema(list(pinned.items())), [])
        raise _error(step_id, config, path, exc, pinned, array) from exc
    _refuse_overflowed_integers(step_id, config, path, array, reader.schema, pinned)
    order = [k for k in _first_keys(config, path, array) if k in reader.schema.names]
    order += [n for n in reader.schema.names if n not in order]
    columns = config.get("columns")
    if columns:
        missing = [c for c in columns if c not in order]
        if missing:
            raise StepError(step_id, f"{path} has no field '{missing[0]}'.")
        order = list(columns)
    target = pa.schema(
        [
            reader.schema.field(n).with_type(pinned.get(n, reader.schema.field(n).type))
            for n in order
        ]
    )

    def batches() -> Iterator[pa.RecordBatch]:
        offset = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, ValueError, UnicodeDecodeError) as exc:
                if "unexpected field" in str(exc):
                    raise _late_field_error(step_id, config, path, array, reader.schema) from exc
                raise _error(step_id, config, path, exc, pinned, array) from exc
            yield _convert(step_id, path, batch.select(order), target, offset)
            offset += batch.num_rows

    return pa.RecordBatchReader.from_batches(target, batches())


def _convert(
    step_id: str, path: Path, batch: pa.RecordBatch, target: pa.Schema, offset: int
) -> pa.RecordBatch:
    """Turn text columns into their pinned types (decimal, date, timestamp, binary)."""
    import pyarrow as pa

    arrays = []
    for field, column in zip(target, batch.columns, strict=True):
        if column.type != field.type:
            try:
                if textcodec.is_binary(field.type):
                    column = textcodec.base64_decode(column, field.type)
                else:
                    column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
                bad = common.first_bad_row(column, field.type)
                where = f"row {offset + bad[0] + 1} ('{bad[1]}')" if bad else "a row"
                raise StepError(
                    step_id,
                    f"{path}: field '{field.name}', {where} is not a valid {field.type}.",
                    hint="Fix the data or change the type in schema:.",
                ) from exc
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def _locate(
    config: Mapping[str, Any], path: Path, pinned: dict[str, pa.DataType], array: bool
) -> tuple[str, int, Any] | None:
    """The first (field, 1-based row, value) that does not fit its pinned type: pyarrow's
    message names neither. Only on the error path."""
    import pyarrow as pa

    try:
        for row, record, _ in _records(config, path, array, parse_float=str, parse_int=str):
            for name, type_ in pinned.items():
                value = record.get(name) if isinstance(record, dict) else None
                if value is None:
                    continue
                try:
                    if textcodec.is_binary(type_):
                        base64.b64decode(value, validate=True)
                    else:
                        pa.array([value], pa.string()).cast(type_)
                except (TypeError, ValueError, pa.ArrowException):
                    return name, row, value
    except (ValueError, OSError):
        return None
    return None


def _late_field_error(
    step_id: str, config: Mapping[str, Any], path: Path, array: bool, schema: pa.Schema
) -> StepError:
    """pyarrow takes the fields from the first block and only says "unexpected field" when a
    new one comes later: name it and its row. Only on the error path."""
    where = "a field"
    try:
        for row, record, _ in _records(config, path, array):
            new = [k for k in record if k not in schema.names] if isinstance(record, dict) else []
            if new:
                where = f"field '{new[0]}' first appears in row {row}, which"
                break
    except (ValueError, OSError):
        pass
    return StepError(
        step_id,
        f"{path}: {where} is not in the first block ({common.block_size(config)} bytes) that"
        " the fields are taken from.",
        hint="Pin the field's type with schema: or raise block_size:.",
    )


def _error(
    step_id: str,
    config: Mapping[str, Any],
    path: Path,
    exc: Exception,
    pinned: dict[str, pa.DataType],
    array: bool,
) -> StepError:
    if "straddling" in str(exc):
        return common.straddling_error(step_id, path, config)
    message = str(exc).replace("JSON parse error: ", "")
    bad = _locate(config, path, pinned, array) if pinned else None
    if bad:
        name, row, value = bad
        return StepError(
            step_id,
            f"{path}: field '{name}', row {row} ('{value}') is not a valid {pinned[name]}.",
            hint="Fix the data or change the type in schema:.",
        )
    if "changed from" in message:
        return StepError(
            step_id,
            f"{path}: the JSON values of a field change type ({message}).",
            hint="Pin the field's type with schema:.",
        )
    return StepError(step_id, f"{path} is not valid JSON ({message}).")


class JsonWriter(common.FileWriter):
    """Writes JSON Lines (default) or one JSON array, atomically and deterministically."""

    def write(
        self, step_id: str, config: Mapping[str, Any], tmp: Path, reader: pa.RecordBatchReader
    ) -> int:
        return _write_json(step_id, config, tmp, reader)

    def count_rows(
        self, step_id: str, config: Mapping[str, Any], tmp: Path, schema: pa.Schema
    ) -> int:
        """Records in the file: the writer puts each on its own line (JSON escapes newlines
        inside values), so they are the lines, less the two bracket lines of an array."""
        import pyarrow as pa

        lines = 0
        written = {"compression": config.get("compression", "none")}
        with pa.input_stream(str(tmp), compression=_compression(written)) as stream:
            while chunk := stream.read(_CHUNK):
                lines += chunk.count(b"\n")
        if config.get("format", "jsonl") == "array":
            return max(0, lines - 2) if lines > 1 else 0
        return lines

    def read_back(
        self, step_id: str, config: Mapping[str, Any], tmp: Path, schema: pa.Schema
    ) -> pa.RecordBatchReader:
        pinned = {f.name: f.type for f in schema}
        read = {
            "format": config.get("format", "jsonl"),
            "compression": config.get("compression", "none"),
        }
        return _open_json(step_id, read, pinned, tmp)


def _default(value: Any) -> Any:
    """Values nested inside lists/structs that json cannot encode: same text rules as columns."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def _unique_names(step_id: str, names: list[str]) -> None:
    """A JSON object holds a key once: a second column of the same name would silently replace
    the first one's value, so it is an error (CSV and Parquet keep both)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise StepError(
                step_id,
                f"column '{name}' appears more than once, and a JSON object can hold it only once.",
                hint="Give the columns distinct names (e.g. with AS in the SQL).",
            )
        seen.add(name)


def _write_json(step_id: str, config: Mapping[str, Any], tmp: Path, reader: Any) -> int:
    import pyarrow as pa

    _unique_names(step_id, reader.schema.names)
    array = config.get("format", "jsonl") == "array"
    compression = config.get("compression", "none")
    encoder = json.JSONEncoder(
        ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default
    )
    names = reader.schema.names
    rows = 0
    with pa.OSFile(str(tmp), "wb") as sink:
        stream: Any = (
            sink if compression == "none" else pa.CompressedOutputStream(sink, compression)
        )
        if array:
            stream.write(b"[")
        for batch in reader:
            for start in range(0, batch.num_rows, _WRITE_ROWS):
                try:
                    chunk = textcodec.to_text_batch(batch.slice(start, _WRITE_ROWS), json=True)
                except textcodec.Unprintable as exc:
                    raise common.unprintable_error(step_id, exc, rows + start) from exc
                columns = [c.to_pylist() for c in chunk.columns]
                parts = []
                for index, values in enumerate(zip(*columns, strict=True)):
                    try:
                        text = encoder.encode(dict(zip(names, values, strict=True)))
                    except ValueError as exc:
                        raise StepError(
                            step_id,
                            f"row {rows + start + index + 1} holds NaN or infinity, which JSON"
                            " cannot represent.",
                        ) from exc
                    if array:
                        parts.append((",\n" if rows + start + index else "\n") + text)
                    else:
                        parts.append(text + "\n")
                stream.write("".join(parts).encode("utf-8"))
            rows += batch.num_rows
        if array:
            stream.write(b"\n]\n" if rows else b"]\n")
        if stream is not sink:
            stream.close()
    return rows
