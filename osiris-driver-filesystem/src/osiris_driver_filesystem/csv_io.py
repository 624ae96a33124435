"""``filesystem.csv_extractor`` and ``filesystem.csv_writer``: streamed through pyarrow.csv."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

from osiris_driver_filesystem import common, csv_infer, textcodec

if TYPE_CHECKING:
    import pyarrow as pa

_CONVERSION = re.compile(r"In CSV column #(\d+): (?:Row #\d+: )?(.*)", re.S)
_BAD_VALUE = re.compile(r"invalid value '(.*)'$|The string '(.*)' is not a valid", re.S)
_PARSE_ROW = re.compile(r"Row #(\d+)")
# pyarrow's "needed" quotes every string value, which is also what "nonnumeric" asks for
_QUOTING = {"minimal": "needed", "nonnumeric": "needed", "all": "all_valid", "none": "none"}


def _compression(config: Mapping[str, Any]) -> str | None:
    value = config.get("compression", "infer")
    return {"infer": "detect", "none": None}.get(value, value)


class CsvExtractor(common.FileExtractor):
    """Streams one CSV file, or every file matched by a glob, as Arrow record batches."""

    def canonical(self, config: dict) -> dict:
        return _canonical(config)

    def opener(
        self, step_id: str, config: Mapping[str, Any], pinned: dict[str, pa.DataType]
    ) -> Callable[[Path], pa.RecordBatchReader]:
        return _CsvFileReader(step_id, config, pinned).open


# pandas dtype names the existing Osiris accepted in ``dtype``, as Arrow types
_PANDAS_DTYPES = {
    "str": "string",
    "object": "string",
    "category": "string",
    "Int8": "int8",
    "Int16": "int16",
    "Int32": "int32",
    "Int64": "int64",
    "Float64": "float64",
    "boolean": "bool",
    "datetime64": "timestamp[ns]",
    "datetime64[ns]": "timestamp[ns]",
    "datetime64[us]": "timestamp[us]",
}


def _canonical(config: Mapping[str, Any]) -> dict[str, Any]:
    """Fold the existing Osiris's spellings into ours: ``header: N`` (the header is row N,
    0-based: N rows are skipped first), ``parse_dates: true`` (ISO dates and timestamps are
    always recognised) and ``dtype`` (pandas names; ``schema`` wins where both name a column)."""
    config = dict(config)
    header = config.get("header", True)
    if type(header) is int:
        config["skip_rows"] = config.get("skip_rows", 0) + header
        config["header"] = True
    if isinstance(config.get("parse_dates"), bool):
        config.pop("parse_dates")
    dtype = config.pop("dtype", None) or {}
    if dtype:
        as_arrow = {col: _PANDAS_DTYPES.get(str(t), str(t)) for col, t in dtype.items()}
        config["schema"] = {**as_arrow, **(config.get("schema") or {})}
    return config


def _null_values(config: Mapping[str, Any]) -> list[str]:
    """An empty unquoted field is always NULL; ``na_values`` adds to it (as in pandas)."""
    return ["", *(config.get("na_values") or [])]


class _CsvFileReader:
    """Opens one CSV file with the step's options; turns pyarrow errors into step errors.

    Columns not pinned are read as text and converted here (``csv_infer``): the first block of
    the first file decides each column's type, every later value must keep its text through it."""

    def __init__(self, step_id: str, config: Mapping[str, Any], pinned: dict[str, pa.DataType]):
        import pyarrow as pa

        self.step_id = step_id
        self.config = config
        self.pinned = pinned
        self.first_types: dict[str, pa.DataType] | None = None
        self.binary = {name for name, type_ in pinned.items() if textcodec.is_binary(type_)}
        self.column_types = {
            name: (pa.string() if name in self.binary else type_) for name, type_ in pinned.items()
        }
        for name in config.get("parse_dates") or []:
            self.column_types.setdefault(name, pa.timestamp("us"))
        self.skip_blank_lines: bool = config.get("skip_blank_lines", True)
        self.proposed: dict[str, pa.DataType] = {}  # read as text, typed by csv_infer
        self.checked: dict[str, pa.DataType] | None = None  # their types, once decided

    def _options(self, invalid_rows: list) -> tuple[Any, Any, Any]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        config = self.config
        header = config.get("header", True)
        columns = config.get("columns")
        read = pacsv.ReadOptions(
            skip_rows=config.get("skip_rows", 0),
            encoding=config.get("encoding", "utf-8"),
            block_size=common.block_size(config),
            use_threads=False,
            column_names=None if header else columns,
            autogenerate_column_names=not header and not columns,
        )

        def on_invalid(row: Any) -> str:
            invalid_rows.append(row)
            return "error"

        parse = pacsv.ParseOptions(
            delimiter=config.get("delimiter", ","),
            quote_char=config.get("quotechar", '"'),
            newlines_in_values=True,
            ignore_empty_lines=self.skip_blank_lines,
            invalid_row_handler=on_invalid,
        )
        types = dict(self.column_types)
        if self.first_types:  # later files of a glob follow the first file's inferred types
            types = {**self.first_types, **types}
        types.update(dict.fromkeys(self.proposed, pa.string()))
        convert = pacsv.ConvertOptions(
            column_types=types,
            null_values=_null_values(config),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            include_columns=columns if header and columns else None,
        )
        return read, parse, convert

    def open(self, path: Path) -> pa.RecordBatchReader:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if self.checked is None:
            probed: list = []
            self._guarded(path, probed, lambda: self._probe(path, probed))
        invalid_rows: list = []
        read, parse, convert = self._options(invalid_rows)

        def open_reader() -> Any:
            source = pa.input_stream(str(path), compression=_compression(self.config))
            return pacsv.open_csv(source, read, parse, convert)

        reader = self._guarded(path, invalid_rows, open_reader)
        for field in reader.schema:
            if textcodec.is_binary(field.type) and field.name not in self.binary:
                raise StepError(
                    self.step_id,
                    f"{path}: column '{field.name}' is not valid"
                    f" {self.config.get('encoding', 'utf-8')} text.",
                    hint="Set encoding: to the file's encoding (binary columns need"
                    " schema: {col: binary} and base64 text).",
                )
        raw = self._raw_batches(path, reader, invalid_rows)
        first = None
        if self.checked is None:  # the first block of the first file decides the types
            first = next(raw, None)
            self.checked = {
                name: csv_infer.choose(first.column(name), type_) if first is not None else type_
                for name, type_ in self.proposed.items()
            }
        schema = pa.schema(
            [
                f.with_type(self.pinned[f.name])
                if f.name in self.binary
                else f.with_type(self.checked[f.name])
                if f.name in self.checked
                else f
                for f in reader.schema
            ]
        )
        if self.first_types is None:
            self.first_types = {f.name: f.type for f in schema}
        batches = itertools.chain([first] if first is not None else [], raw)
        return pa.RecordBatchReader.from_batches(schema, self._typed(path, schema, batches))

    def _guarded(self, path: Path, invalid_rows: list, call: Callable[[], Any]) -> Any:
        """``call()`` (which opens the file) with pyarrow's errors as step errors."""
        import pyarrow as pa

        try:
            return call()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
            raise self._error(path, exc, invalid_rows) from exc
        except KeyError as exc:  # a LookupError too, but pyarrow's "not in include_columns"
            raise self._missing_column(path) from exc
        except LookupError as exc:
            raise StepError(self.step_id, f"{path}: unknown encoding ({exc}).") from exc

    def _probe(self, path: Path, invalid_rows: list) -> None:
        """Look at the first block of the first file: the types pyarrow proposes for the columns
        not pinned (read as text from now on), and whether an empty line is a row (in a file of
        one column it is a NULL value, unless ``skip_blank_lines`` says otherwise)."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        read, parse, _ = self._options(invalid_rows)
        convert = pacsv.ConvertOptions(
            null_values=_null_values(self.config),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        source = pa.input_stream(str(path), compression=_compression(self.config))
        schema = pacsv.open_csv(source, read, parse, convert).schema
        if "skip_blank_lines" not in self.config:
            self.skip_blank_lines = len(schema) != 1
        columns = self.config.get("columns") if self.config.get("header", True) else None
        wanted = set(columns) if columns else set(schema.names)
        self.proposed = {
            f.name: f.type
            for f in schema
            if f.name in wanted and f.name not in self.column_types and csv_infer.candidates(f.type)
        }

    def _raw_batches(self, path: Path, reader: Any, invalid_rows: list) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
                raise self._error(path, exc, invalid_rows) from exc
            yield batch

    def _typed(
        self, path: Path, schema: pa.Schema, batches: Iterator[pa.RecordBatch]
    ) -> Iterator[pa.RecordBatch]:
        """Batches with the text columns converted to their decided types and binary decoded."""
        import pyarrow as pa

        convert = {n: t for n, t in (self.checked or {}).items() if not pa.types.is_string(t)}
        rows = 0
        for batch in batches:
            if convert or self.binary:
                columns = []
                for name, column in zip(batch.schema.names, batch.columns, strict=True):
                    if name in convert:
                        column = self._convert(path, name, column, convert[name], rows)
                    elif name in self.binary:
                        column = self._decode_binary(path, name, column, rows)
                    columns.append(column)
                batch = pa.RecordBatch.from_arrays(columns, schema=schema)
            rows += batch.num_rows
            yield batch

    def _convert(
        self, path: Path, name: str, text: pa.Array, type_: pa.DataType, offset: int
    ) -> pa.Array:
        """A text column as its inferred type; a value that would not keep its text stops the
        step (the type was decided by the values of the first block)."""
        result = csv_infer.convert(text, type_)
        if not isinstance(result, csv_infer.Changed):
            return result
        where = self._where(path, offset + result.index + 1)
        if result.printed is None:
            message = f"'{result.value}' is not a valid {type_}"
        else:
            message = (
                f"'{result.value}' would become '{result.printed}' as {type_}, the type the"
                " column's first values have"
            )
        raise StepError(
            self.step_id,
            f"{path}: column '{name}', {where}: {message}.",
            hint=f"Pin the column's type with schema: {{{name}: string}} (types are inferred"
            " from the first block of the file).",
        )

    def _missing_column(self, path: Path) -> StepError:
        """``columns:`` names a column the header does not have."""
        names = self._read_strings(path, None, names_only=True)
        missing = [c for c in self.config.get("columns") or [] if c not in names]
        return StepError(
            self.step_id,
            f"{path} has no column '{missing[0] if missing else '?'}' (it has: {', '.join(names)}).",
        )

    def _decode_binary(self, path: Path, name: str, column: pa.Array, offset: int) -> pa.Array:
        try:
            return textcodec.base64_decode(column, self.pinned[name])
        except ValueError as exc:
            row = int(str(exc).split()[1].rstrip(":")) + offset
            raise StepError(
                self.step_id,
                f"{path}: column '{name}', row {row}: the value is not base64"
                " (binary columns are base64 text in CSV).",
            ) from exc

    def _error(self, path: Path, exc: Exception, invalid_rows: list) -> StepError:
        message = str(exc)
        if "straddling" in message:
            return common.straddling_error(self.step_id, path, self.config)
        if invalid_rows:
            row = invalid_rows[0]
            line = self._line_of_record(path, row.number) if row.number else None
            where = f"line {line}" if line else f"row {row.number}" if row.number else "a row"
            return StepError(
                self.step_id,
                f"{path}: malformed CSV at {where}: expected {row.expected_columns} columns,"
                f" got {row.actual_columns}.",
                hint="Check the delimiter and quoting.",
            )
        match = _CONVERSION.search(message)
        if match:
            return self._conversion_error(path, match)
        if "UTF8" in message or isinstance(exc, UnicodeDecodeError):
            return StepError(
                self.step_id,
                f"{path} is not valid {self.config.get('encoding', 'utf-8')} text ({message}).",
                hint="Set encoding: to the file's encoding.",
            )
        row = _PARSE_ROW.search(message)
        where = f" at row {row.group(1)}" if row else ""
        return StepError(self.step_id, f"{path}: cannot read the CSV{where}: {message}")

    def _line_of_record(self, path: Path, number: int) -> int | None:
        """The file line where CSV record ``number`` (1-based, as pyarrow counts: skipped rows
        and the header included) ends; quoted values may span lines. Only on the error path."""
        import csv
        import io

        import pyarrow as pa

        try:
            with pa.input_stream(str(path), compression=_compression(self.config)) as raw:
                text = io.TextIOWrapper(
                    raw, encoding=self.config.get("encoding", "utf-8"), newline=""
                )
                reader = csv.reader(
                    text,
                    delimiter=self.config.get("delimiter", ","),
                    quotechar=self.config.get("quotechar", '"'),
                )
                for index, _ in enumerate(reader, start=1):
                    if index == number:
                        return reader.line_num
        except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException):
            return None
        return None

    def _conversion_error(self, path: Path, match: re.Match) -> StepError:
        index, detail = match.groups()
        name = self._column_name(path, int(index))
        type_ = self.column_types.get(name) or (self.first_types or {}).get(name)
        bad = _BAD_VALUE.search(detail)
        value = next((g for g in bad.groups() if g is not None), "") if bad else ""
        row = self._find_row(path, name, value) if bad else None
        if not bad and type_ is not None:  # e.g. "Rescaling Decimal value would cause data loss"
            row, value = self._find_bad_value(path, name, type_) or (None, "")
        where = self._where(path, row) if row else "a row"
        type_name = str(type_) if type_ is not None else "value of the column's type"
        pinned = name in self.pinned
        hint = (
            "Fix the data or change the type in schema:."
            if pinned
            else f"Pin the column's type with schema: {{{name}: string}} (types are inferred from"
            " the first block of the file)."
        )
        return StepError(
            self.step_id,
            f"{path}: column '{name}', {where}: '{value}' is not a valid {type_name}.",
            hint=hint,
        )

    def _where(self, path: Path, row: int) -> str:
        """``row N (line L)`` for 1-based data row ``row`` (only on the error path)."""
        before = self.config.get("skip_rows", 0) + (1 if self.config.get("header", True) else 0)
        line = self._line_of_record(path, row + before)
        return f"row {row} (line {line})" if line else f"row {row}"

    def _column_name(self, path: Path, index: int) -> str:
        names = self._read_strings(path, None, names_only=True)
        return names[index] if index < len(names) else f"#{index + 1}"

    def _find_row(self, path: Path, name: str, value: str) -> int | None:
        """The 1-based data row holding ``value`` in column ``name`` (only on the error path)."""
        offset = 0
        for batch in self._read_strings(path, name):
            for index, item in enumerate(batch.column(0).to_pylist()):
                if item == value:
                    return offset + index + 1
            offset += batch.num_rows
        return None

    def _find_bad_value(self, path: Path, name: str, type_: pa.DataType) -> tuple[int, str] | None:
        """The first 1-based data row of column ``name`` whose text does not cast to ``type_``,
        with that text: pyarrow names neither when a value is well-formed but does not fit
        (a decimal with too many digits). Only on the error path."""
        offset = 0
        for batch in self._read_strings(path, name):
            bad = common.first_bad_row(batch.column(0), type_)
            if bad:
                return offset + bad[0] + 1, bad[1]
            offset += batch.num_rows
        return None

    def _read_strings(
        self, path: Path, name: str | list[str] | None, *, names_only: bool = False
    ) -> Any:
        """The file again with ``name`` (one column or several) read as text."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        read, parse, _ = self._options([])
        names = [name] if isinstance(name, str) else name
        convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names or [], pa.string()),
            include_columns=names or None,
            null_values=_null_values(self.config),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        source = pa.input_stream(str(path), compression=_compression(self.config))
        if names_only:
            return pacsv.open_csv(source, read, parse).schema.names
        return pacsv.open_csv(source, read, parse, convert)


class CsvWriter(common.FileWriter):
    """Writes its input to one CSV file, atomically and byte-for-byte deterministic."""

    def write(
        self, step_id: str, config: Mapping[str, Any], tmp: Path, reader: pa.RecordBatchReader
    ) -> int:
        return _write_csv(step_id, config, tmp, reader)

    def count_rows(
        self, step_id: str, config: Mapping[str, Any], tmp: Path, schema: pa.Schema
    ) -> int:
        """Records in the file, parsed again with every value as text (a quoted value may hold
        newlines, so lines are not records). pyarrow's parser beats scanning the bytes for
        quotes by 4x; the parse costs about as much as writing the file."""
        import pyarrow as pa

        as_text = {name: pa.string() for name in schema.names}
        reader = _CsvFileReader(step_id, _read_config(config, schema.names), as_text).open(tmp)
        return sum(batch.num_rows for batch in reader)

    def read_back(
        self, step_id: str, config: Mapping[str, Any], tmp: Path, schema: pa.Schema
    ) -> pa.RecordBatchReader:
        pinned = {f.name: f.type for f in schema}
        return _CsvFileReader(step_id, _read_config(config, schema.names), pinned).open(tmp)


def _read_config(config: Mapping[str, Any], names: list[str] | None) -> dict[str, Any]:
    """The extractor options that read back what the writer wrote with ``config``."""
    read = {
        "delimiter": config.get("delimiter", ","),
        "header": config.get("header", True),
        "encoding": config.get("encoding", "utf-8"),
        "compression": config.get("compression", "none"),
        "skip_blank_lines": False,
    }
    if names is not None and not read["header"]:
        read["columns"] = list(names)
    return read


def _codec_name(step_id: str, encoding: str) -> str:
    """The canonical name of the writer's ``encoding`` (``UTF8`` -> ``utf-8``), checked before
    any row is written."""
    import codecs

    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise StepError(step_id, f"unknown encoding '{encoding}'.") from exc


def _refuse_empty_strings(step_id: str, batch: pa.RecordBatch, offset: int) -> None:
    """Unquoted, an empty string is an empty field, which reads back as NULL: refuse it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            empty = pc.equal(pc.binary_length(column), 0)
            if pc.any(empty).as_py():
                row = offset + pc.index(empty, True).as_py() + 1
                raise StepError(
                    step_id,
                    f"column '{name}', row {row}: an empty string cannot be written with"
                    " quoting: none (it would read back as NULL).",
                    hint='Use quoting: minimal, which writes it as "".',
                )


def _write_csv(step_id: str, config: Mapping[str, Any], tmp: Path, reader: Any) -> int:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(
        include_header=config.get("header", True),
        delimiter=config.get("delimiter", ","),
        quoting_style=_QUOTING[config.get("quoting", "minimal")],
        quoting_header="none" if config.get("quoting") == "none" else "needed",
        eol="\r\n" if config.get("newline", "lf") == "crlf" else "\n",
    )
    compression = config.get("compression", "none")
    encoding = config.get("encoding", "utf-8")
    rows = 0
    with pa.OSFile(str(tmp), "wb") as sink:
        # layers, innermost first; each is closed (flushed) before the one under it
        layers: list[Any] = [sink]
        if compression != "none":
            layers.append(pa.CompressedOutputStream(sink, compression))
        if _codec_name(step_id, encoding) != "utf-8":
            layers.append(pa.PythonFile(textcodec.Transcoder(layers[-1], encoding), mode="w"))
        try:
            writer = pacsv.CSVWriter(
                layers[-1], textcodec.text_schema(reader.schema), write_options=options
            )
            for batch in reader:
                if config.get("quoting") == "none":
                    _refuse_empty_strings(step_id, batch, rows)
                try:
                    writer.write_batch(textcodec.to_text_batch(batch))
                except textcodec.Unprintable as exc:
                    raise common.unprintable_error(step_id, exc, rows) from exc
                rows += batch.num_rows
            writer.close()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise StepError(
                step_id, f"cannot write CSV: {exc}", hint="Use parquet_writer for nested types."
            ) from exc
        except UnicodeEncodeError as exc:
            raise StepError(
                step_id,
                f"a value cannot be written in encoding {encoding}: {exc.object[exc.start : exc.end]!r}.",
                hint="Use encoding: utf-8.",
            ) from exc
        finally:
            for layer in reversed(layers[1:]):
                layer.close()
    return rows
