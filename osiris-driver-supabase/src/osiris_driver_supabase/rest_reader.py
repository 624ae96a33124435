"""Read a table through the Supabase REST API, page by page past the 1000-row cap.

Column types come from PostgREST's OpenAPI description (``GET /rest/v1/``), so the Arrow schema
is the table's, not a guess from JSON. ``numeric`` and ``json`` columns are selected as
``col::text`` so their values arrive exactly as stored (JSON numbers would be rounded to floats).
Pages are requested with ``offset``/``limit`` ranges in a stable order (the configured ``order``,
else the primary key).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from osiris.batching import first_fetch, next_fetch
from osiris.errors import StepError

from osiris_driver_supabase.connection import Settings, rest_client
from osiris_driver_supabase.rest_values import FarOut, column_from_json
from osiris_driver_supabase.types import OSIRIS_TYPE, arrow_field

if TYPE_CHECKING:
    import pyarrow as pa

PAGE = 1000
"""Rows asked for per request at most: hosted projects return at most 1000 by default ("Max
rows"); wide rows ask for fewer (``osiris.batching``)."""


def describe_rest(settings: Settings, schema: str) -> dict[str, Any]:
    """PostgREST's OpenAPI document for ``schema`` (its ``definitions`` describe every table)."""
    import httpx

    headers = {
        "apikey": settings.key or "",
        "Authorization": f"Bearer {settings.key}",
        "Accept-Profile": schema,
        "Accept": "application/openapi+json",
    }
    resp = httpx.get(f"{settings.rest_url}/rest/v1/", headers=headers, timeout=settings.timeout)
    resp.raise_for_status()
    return resp.json()


def open_rest(
    step_id: str,
    settings: Settings,
    config: Mapping[str, Any],
    ctx: Any,
    *,
    incremental: Any = None,
) -> pa.RecordBatchReader:
    """Page through the table; with ``incremental`` only rows past the bound, in cursor order."""
    import httpx
    import pyarrow as pa

    schema_name = config.get("schema") or settings.schema
    table = config["table"]
    try:
        spec = describe_rest(settings, schema_name)
    except httpx.HTTPError as exc:
        raise StepError(step_id, f"cannot read the Supabase REST API description: {exc}") from exc
    definition = (spec.get("definitions") or {}).get(table)
    if definition is None:
        raise StepError(
            step_id, f"table {schema_name}.{table} is not exposed by the Supabase REST API."
        )
    props: dict[str, Any] = definition.get("properties") or {}
    wanted = [c.strip() for c in (config.get("select") or "*").split(",") if c.strip()]
    names = list(props) if wanted == ["*"] else wanted
    unknown = [n for n in names if n not in props]
    if unknown:
        raise StepError(
            step_id, f"select names column(s) {', '.join(unknown)} not in {schema_name}.{table}."
        )
    interval_text = config.get("interval_as", "month_day_nano") == "text"
    fields = [
        arrow_field(n, props[n].get("format") or "text", interval_text=interval_text) for n in names
    ]
    schema = pa.schema(fields)
    select = ",".join(
        f"{f.name}::text"
        if (f.metadata or {}).get(OSIRIS_TYPE) in (b"numeric", b"json")
        else f.name
        for f in fields
    )
    keys = [n for n, p in props.items() if "<pk/>" in (p.get("description") or "")]
    # Without a primary key (a view, a keyless table) every orderable column breaks ties: rows
    # that still tie are identical, so which page each lands on changes nothing.
    tiebreak = keys or [f.name for f in fields if (f.metadata or {}).get(OSIRIS_TYPE) != b"json"]
    filters = dict(config.get("filter") or {})
    order = stable_order(config.get("order") or "", tiebreak)
    if incremental is not None:
        filters, order = _incremental_rest(
            step_id, settings, schema_name, table, fields, incremental, filters, tiebreak
        )
    key = keys[0] if len(keys) == 1 and keys[0] in names else None
    if incremental is not None and key is not None:
        pages: Any = _KeysetPages(table, select, filters, incremental, key)
    else:
        pages = _OffsetPages(table, select, filters, order, config.get("limit"))
    ctx.log_event(
        "extract_start", transport="rest", table=f"{schema_name}.{table}", columns=len(schema)
    )

    def batches() -> Iterator[pa.RecordBatch]:
        from postgrest.exceptions import APIError

        total = 0
        with rest_client(settings, schema_name) as client:
            page = first_fetch(PAGE)
            while True:
                try:
                    rows = pages.next(client, page)
                except APIError as exc:
                    raise StepError(
                        step_id,
                        f"REST read of {schema_name}.{table} failed ({exc.code}: {exc.message}).",
                    ) from exc
                if not rows:
                    break
                try:
                    columns = [column_from_json(f, [r.get(f.name) for r in rows]) for f in fields]
                except FarOut as exc:
                    raise StepError(
                        step_id,
                        f"column '{exc.column}' row {total + exc.index + 1}: '{exc.value}' is BC,"
                        " after the year 9999 or infinite, which the REST transport cannot read"
                        " (its JSON goes through Python dates).",
                        hint="Use the postgres transport (db_url in the connection), which keeps"
                        " it, or select the column as text.",
                    ) from exc
                batch = pa.RecordBatch.from_arrays(columns, schema=schema)
                total += len(rows)
                del rows
                page = next_fetch(batch, PAGE)
                yield batch
        ctx.log_metric("rows_read", total, "rows")
        ctx.log_event("extract_complete", rows=total)

    return pa.RecordBatchReader.from_batches(schema, batches())


class _OffsetPages:
    """Pages by offset in a stable order. A short page is not the end: the server may cap pages
    below what was asked (PostgREST's max rows); only an empty page is."""

    def __init__(
        self, table: str, select: str, filters: dict, order: str, limit: int | None
    ) -> None:
        self.table, self.select, self.filters, self.order = table, select, filters, order
        self.limit, self.start = limit, 0

    def next(self, client: Any, size: int) -> list[dict[str, Any]]:
        from postgrest.exceptions import APIError

        if self.limit is not None:
            size = min(size, self.limit - self.start)
            if size <= 0:
                return []
        query = _query(client.table(self.table).select(self.select), self.filters, self.order)
        try:
            rows = query.range(self.start, self.start + size - 1).execute().data
        except APIError as exc:
            if exc.code == "PGRST103":  # offset past the end: nothing more to read
                return []
            raise
        self.start += len(rows)
        return rows


class _KeysetPages:
    """Incremental pages that stay exact while the table changes: each page starts past the
    last (cursor, key) read, so a row deleted or updated meanwhile cannot shift another out of
    reach, as it could between offset pages (and the mark would then pass it for good).

    With a one-column primary key: first the rest of the rows at the last cursor value
    (``cursor=eq.c&key=gt.k``), then rows past it (``cursor=gt.c``). A cursor that is the
    primary key needs only the second.
    """

    def __init__(
        self, table: str, select: str, filters: dict, incremental: Any, key: str | None
    ) -> None:
        self.table, self.select, self.filters = table, select, filters
        self.cursor = incremental.column
        self.key = None if key == self.cursor else key
        self.after: str | None = None  # the last cursor value read, as PostgREST's text
        self.tie_key: str | None = None

    def next(self, client: Any, size: int) -> list[dict[str, Any]]:
        if self.after is not None and self.key is not None:
            ties = _with(self.filters, {self.cursor: f"eq.{self.after}",
                                        self.key: f"gt.{self.tie_key}"})  # fmt: skip
            rows = self._page(client, ties, f"{self.key}.asc", size)
            if rows:
                self.tie_key = _filter_text(rows[-1][self.key])
                return rows
        past = self.filters if self.after is None else _with(
            self.filters, {self.cursor: f"gt.{self.after}"}
        )  # fmt: skip
        order = f"{self.cursor}.asc" + (f",{self.key}.asc" if self.key else "")
        rows = self._page(client, past, order, size)
        if rows:
            self.after = _filter_text(rows[-1][self.cursor])
            if self.key is not None:
                self.tie_key = _filter_text(rows[-1][self.key])
        return rows

    def _page(self, client: Any, filters: dict, order: str, size: int) -> list[dict[str, Any]]:
        query = _query(client.table(self.table).select(self.select), filters, order)
        return query.limit(size).execute().data


def _with(filters: dict[str, Any], extra: dict[str, str]) -> dict[str, Any]:
    """``filters`` with more conditions (all must hold) on some columns."""
    out = dict(filters)
    for column, condition in extra.items():
        existing = out.get(column)
        out[column] = [*([existing] if isinstance(existing, str) else existing or []), condition]
    return out


def _filter_text(value: Any) -> str:
    """A JSON value as PostgREST reads it back in a filter (numbers and exact text as sent)."""
    return str(value)


def _incremental_rest(
    step_id: str, settings: Settings, schema_name: str, table: str, fields: list[pa.Field],
    incremental: Any, filters: dict[str, Any], keys: list[str],
) -> tuple[dict[str, Any], str]:  # fmt: skip
    """The step's filters plus the cursor bound, the order by cursor, after the NULL check."""
    from postgrest.exceptions import APIError

    from osiris_driver_supabase.incremental import rest_filter

    column = incremental.column
    incremental.bind(next((f for f in fields if f.name == column), None))
    with rest_client(settings, schema_name) as client:
        try:
            found = client.table(table).select(column).is_(column, "null").limit(1).execute()
        except APIError as exc:
            raise StepError(
                step_id, f"REST read of {schema_name}.{table} failed ({exc.code}: {exc.message})."
            ) from exc
    if found.data:
        raise incremental.null_error()
    bound = rest_filter(incremental)
    if bound is not None:
        filters = _with(filters, {column: bound})
    return filters, stable_order(f"{column}.asc", keys)


def stable_order(order: str, keys: list[str]) -> str:
    """``order`` with the tie-breaking columns it lacks appended (the primary key). Pages are
    separate queries, and rows tied on ``order`` may come in another order in each: without a
    unique tail some rows would be read twice and others never."""
    items = [item.strip() for item in order.split(",") if item.strip()]
    named = {item.partition(".")[0] for item in items}
    return ",".join([*items, *(k for k in keys if k not in named)])


def _query(query: Any, filters: Mapping[str, Any] | None, order: str) -> Any:
    """The step's ``filter`` (``{column: "op.value"}`` or a list of them) and ``order`` applied."""
    for column, conditions in (filters or {}).items():
        for cond in [conditions] if isinstance(conditions, str) else conditions:
            negate, rest = str(cond).startswith("not."), str(cond).removeprefix("not.")
            op, _, value = rest.partition(".")
            query = query.filter(column, f"not.{op}" if negate else op, value)
    for item in filter(None, order.split(",")):
        name, _, direction = item.strip().partition(".")
        query = query.order(name, desc=direction.startswith("desc"))
    return query
