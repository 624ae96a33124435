"""Helpers shared by the filesystem driver tests."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from osiris.stepdata import StepData
from osiris.testing import make_context


def _run_step(driver: Any, tmp_path: Path, config: dict, table: pa.Table | None = None, **kw: Any):
    """Run a driver once; returns (output table or None, Recorded)."""
    ctx, recorded = make_context(tmp_path, step_id=kw.pop("step_id", "step"), **kw)
    inputs = {"df_up": StepData.from_table(table)} if table is not None else {}
    out = driver.run(step_id=ctx.step_id, config=config, inputs=inputs, ctx=ctx)
    return (out["df"].read_all() if "df" in out else None), recorded


@pytest.fixture
def fs_run():
    """``fs_run(driver, tmp_path, config, table=None, **make_context_kw)`` -> (table, Recorded)."""
    return _run_step


@pytest.fixture
def fs_types() -> dict[str, str]:
    """The ``schema:`` that pins every column of ``fs_typed_table``."""
    return dict(TYPES)


TYPES = {
    "i": "int64",
    "f": "float64",
    "d": "decimal128(12,2)",
    "s": "string",
    "ts": "timestamp[us]",
    "tz": "timestamp[us, tz=UTC]",
    "dt": "date32",
    "b": "bool",
    "bin": "binary",
}


@pytest.fixture
def fs_typed_table() -> pa.Table:
    """One column per supported type, with edge values and a NULL in every column."""
    utc = dt.UTC
    return pa.table(
        {
            "i": pa.array([1, None, -(2**63), 2**63 - 1], pa.int64()),
            "f": pa.array([0.1, None, -2.5e-300, 1e300], pa.float64()),
            "d": pa.array(
                [
                    decimal.Decimal("12.50"),
                    None,
                    decimal.Decimal("-0.01"),
                    decimal.Decimal("9999999999.99"),
                ],
                pa.decimal128(12, 2),
            ),
            "s": pa.array(['a\n"b", ü', None, "", "Žluťoučký 🐎\r\nkůň;|\t"], pa.string()),
            "ts": pa.array(
                [
                    dt.datetime(2024, 1, 1, 10, 0, 0, 123456),
                    None,
                    dt.datetime(1999, 12, 31),
                    dt.datetime(1900, 1, 1),
                ],
                pa.timestamp("us"),
            ),
            "tz": pa.array(
                [
                    dt.datetime(2024, 1, 1, 10, tzinfo=utc),
                    None,
                    dt.datetime(2024, 6, 1, 23, 59, 59, 1, tzinfo=utc),
                    dt.datetime(1970, 1, 1, tzinfo=utc),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "dt": pa.array(
                [dt.date(2024, 1, 2), None, dt.date(1970, 1, 1), dt.date(2099, 12, 31)], pa.date32()
            ),
            "b": pa.array([True, None, False, True], pa.bool_()),
            "bin": pa.array([b"\x00\xff", None, b"", b"osiris"], pa.binary()),
        }
    )
