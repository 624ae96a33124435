"""``filesystem.csv_extractor`` and ``filesystem.csv_writer``: streamed through pyarrow.csv."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

from osiris_driver_filesystem import common, textcodec

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
    """Opens one CSV file with the step's options; turns pyarrow errors into step errors."""

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

    def _options(self, invalid_rows: list) -> tuple[Any, Any, Any]:
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
            ignore_empty_lines=config.get("skip_blank_lines", True),
            invalid_row_handler=on_invalid,
        )
        types = dict(self.column_types)
        if self.first_types:  # later files of a glob follow the first file's inferred types
            types = {**self.first_types, **types}
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

        invalid_rows: list = []
        read, parse, convert = self._options(invalid_rows)
        try:
            source = pa.input_stream(str(path), compression=_compression(self.config))
            reader = pacsv.open_csv(source, read, parse, convert)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
            raise self._error(path, exc, invalid_rows) from exc
        except KeyError as exc:  # a LookupError too, but pyarrow's "not in include_columns"
            raise self._missing_column(path) from exc
        except LookupError as exc:
            raise StepError(self.step_id, f"{path}: unknown encoding ({exc}).") from exc
        if self.first_types is None:
            self.first_types = {f.name: f.type for f in reader.schema}
            self._refuse_overflowed_integers(path, reader.schema)
        for field in reader.schema:
            if textcodec.is_binary(field.type) and field.name not in self.binary:
                raise StepError(
                    self.step_id,
                    f"{path}: column '{field.name}' is not valid"
                    f" {self.config.get('encoding', 'utf-8')} text.",
                    hint="Set encoding: to the file's encoding (binary columns need"
                    " schema: {col: binary} and base64 text).",
                )
        schema = reader.schema
        if self.binary:
            schema = pa.schema(
                [f.with_type(self.pinned[f.name]) if f.name in self.binary else f for f in schema]
            )
        return pa.RecordBatchReader.from_batches(schema, self._batches(path, reader, invalid_rows))

    def _refuse_overflowed_integers(self, path: Path, schema: pa.Schema) -> None:
        """pyarrow infers whole numbers beyond int64 as float64, which changes them (20-digit ids
        lose their last digits): refuse, and say how to pin the column. Looks at the first block,
        where the types are inferred."""
        import pyarrow as pa
        import pyarrow.compute as pc

        floats = [
            f.name
            for f in schema
            if pa.types.is_floating(f.type) and f.name not in self.column_types
        ]
        if not floats:
            return
        first = next(iter(self._read_strings(path, floats)), None)  # one read for every column
        for name in floats:
            texts = first.column(name).drop_null() if first is not None else None
            if (
                not texts
                or not pc.all(pc.match_substring_regex(texts, r"^\s*[+-]?\d+\s*$")).as_py()
            ):
                continue
            big = next((t for t in texts.to_pylist() if not -(2**63) <= int(t) < 2**63), None)
            if big is not None:
                raise StepError(
                    self.step_id,
                    f"{path}: column '{name}' holds whole numbers beyond int64 (e.g."
                    f" {big.strip()}), which would be read as inexact floats.",
                    hint=f"Pin it: schema: {{{name}: decimal128(38, 0)}} (or string).",
                )

    def _missing_column(self, path: Path) -> StepError:
        """``columns:`` names a column the header does not have."""
        names = self._read_strings(path, None, names_only=True)
        missing = [c for c in self.config.get("columns") or [] if c not in names]
        return StepError(
            self.step_id,
            f"{path} has no column '{missing[0] if missing else '?'}' (it has: {', '.join(names)}).",
        )

    def _batches(self, path: Path, reader: Any, invalid_rows: list) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        rows = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
                raise self._error(path, exc, invalid_rows) from exc
            if self.binary:
                batch = self._decode_binary(path, batch, rows)
            rows += batch.num_rows
            yield batch

    def _decode_binary(self, path: Path, batch: pa.RecordBatch, offset: int) -> pa.RecordBatch:
        import pyarrow as pa

        columns = []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if name in self.binary:
                try:
                    column = textcodec.base64_decode(column, self.pinned[name])
                except ValueError as exc:
                    row = int(str(exc).split()[1].rstrip(":")) + offset
                    raise StepError(
                        self.step_id,
                        f"{path}: column '{name}', row {row}: the value is not base64"
                        " (binary columns are base64 text in CSV).",
                    ) from exc
            columns.append(column)
        return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)

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
        where = "a row"
        if row:
            before = self.config.get("skip_rows", 0) + (1 if self.config.get("header", True) else 0)
            line = self._line_of_record(path, row + before)
            where = f"row {row} (line {line})" if line else f"row {row}"
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
                writer.write_batch(textcodec.to_text_batch(batch))
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
