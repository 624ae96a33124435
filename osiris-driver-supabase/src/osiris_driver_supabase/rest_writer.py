"""The rest transport of supabase.writer: the real ``supabase`` client, one request per chunk.

Each request commits on its own (PostgREST runs one transaction per request), so the guarantees
differ from the postgres transport and are stated per mode:

- upsert: ``on_conflict`` + ``merge-duplicates``; idempotent, so every transient failure (5xx,
  429, timeouts, dropped connections) is retried with backoff and a failed run is finished by
  running it again.
- append: plain inserts; retried only when the request certainly did not apply (503/429 or a
  connection that never opened), since a retried insert after a timeout could duplicate rows.
- replace: needs a single-column ``primary_key``. Upserts every row, then deletes the rows whose
  key was not in the new data. The table is never empty on failure: it holds the old rows, some
  already updated; running again completes the replace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from osiris.errors import StepError

from osiris_driver_supabase.pg_writer import Target
from osiris_driver_supabase.rest_values import batch_rows

if TYPE_CHECKING:
    import pyarrow as pa

DELETE_CHUNK = 200
"""Keys per ``DELETE ?id=in.(...)`` request (keeps URLs short)."""


class RestWriter:
    """Writes batches through PostgREST with bounded, idempotent retries."""

    def __init__(
        self,
        step_id: str,
        client: Any,
        target: Target,
        *,
        batch_size: int,
        retries: int,
        backoff_s: float,
    ) -> None:
        self.step_id = step_id
        self.target = target
        self.batch_size = batch_size
        self.retries = retries
        self.backoff_s = backoff_s
        self.client = client
        self.last_status: list[int] = [0]
        session = self.client.postgrest.session
        session.event_hooks["response"].append(
            lambda r: self.last_status.__setitem__(0, r.status_code)
        )
        self.committed = 0
        self.verified = 0
        """Rows whose request the server confirmed it wrote in full (``Prefer: count=exact``)."""

    def write(self, reader: pa.RecordBatchReader) -> int:
        mode, keys = self.target.mode, list(self.target.primary_key)
        if mode in ("upsert", "replace") and not keys:
            raise StepError(
                self.step_id,
                f"write_mode {mode} over REST needs primary_key.",
                hint="Set primary_key to the table's key columns.",
            )
        if mode == "replace" and len(keys) != 1:
            raise StepError(
                self.step_id,
                "write_mode replace over REST supports a single-column primary_key.",
                hint="Give the connection a db_url and use transport: postgres.",
            )
        missing = [k for k in keys if k not in reader.schema.names]
        if missing:
            raise StepError(
                self.step_id, f"primary_key column(s) {', '.join(missing)} are not in the data."
            )
        from postgrest.types import CountMethod

        seen: set[Any] = set()
        table = self.client.table(self.target.table)
        for rows in self._chunks(reader):
            exact = CountMethod.exact
            if mode == "append":
                request = table.insert(rows, count=exact, returning="minimal")
            else:
                request = table.upsert(
                    rows, count=exact, on_conflict=",".join(keys), returning="minimal"
                )
                if mode == "replace":
                    request = request.select(_as_text(keys[0]))
            resp = self._send(
                lambda request=request: request.execute(), idempotent=mode != "append"
            )
            if mode == "replace":
                seen.update(r[keys[0]] for r in resp.data)
            self._verify(len(rows), resp.count)
            self.committed += len(rows)
            self.verified += len(rows)
        if mode == "replace":
            self._delete_missing(keys[0], seen)
            self._verify_table(keys[0], len(seen))
        return self.committed

    def _verify_table(self, key: str, expected: int) -> None:
        """After a replace the table holds exactly the keys sent: its count says so."""
        from postgrest.types import CountMethod

        table = self.client.table(self.target.table)
        resp = self._send(
            lambda: table.select(_as_text(key), count=CountMethod.exact).limit(1).execute(),
            idempotent=True,
        )
        if resp.count != expected:
            name = f"{self.target.schema}.{self.target.table}"
            raise StepError(
                self.step_id,
                f"verification failed for {name}: the replace sent {expected:,} distinct key(s)"
                f" but the table now holds {resp.count} row(s); the rows written stay committed"
                " (REST commits each request).",
                hint="Another writer or a trigger changed the table; run the replace again.",
            )

    def _verify(self, sent: int, written: int | None) -> None:
        """Each request's rows against the count the server reports it wrote (``Prefer:
        count=exact``). A request commits on its own, so a mismatch stops the load there."""
        if written == sent:
            return
        name = f"{self.target.schema}.{self.target.table}"
        said = "did not say how many rows it wrote" if written is None else f"wrote {written:,}"
        raise StepError(
            self.step_id,
            f"verification failed for {name}: a REST request sent {sent:,} row(s) but the server"
            f" {said}; {self.committed:,} row(s) of earlier requests and what this request"
            " wrote stay committed (REST commits each request).",
            hint="Something in the target (a trigger, a rule, a policy) drops rows; fix it and"
            " run again (an upsert or replace completes on a re-run).",
        )

    def _chunks(self, reader: pa.RecordBatchReader) -> Iterator[list[dict[str, Any]]]:
        for batch in reader:
            for start in range(0, batch.num_rows, self.batch_size):
                part = batch.slice(start, self.batch_size)
                if part.num_rows:
                    yield batch_rows(part, self.committed + 1)  # rows sent so far precede it

    def _delete_missing(self, key: str, keep: set[Any]) -> None:
        """Delete rows whose key is not in the new data, paging the existing keys by range.

        ``keep`` holds the keys as the server echoed them (``key::text``), the spelling this
        listing uses too: the input's own spelling (``1.50``, an upper-case uuid, ``.500000``
        seconds) differs from PostgreSQL's, and comparing those deleted rows just written.

        Only an empty page ends the listing: a project's "Max rows" may return fewer keys than
        asked for, and stopping at a short page would leave old rows behind."""
        table = self.client.table(self.target.table)
        stale: list[Any] = []
        start, page = 0, 1000
        while True:
            resp = self._send(
                lambda s=start: (
                    table.select(_as_text(key)).order(key).range(s, s + page - 1).execute()
                ),
                idempotent=True,
            )
            if not resp.data:
                break
            stale.extend(r[key] for r in resp.data if r[key] not in keep)
            start += len(resp.data)
        for i in range(0, len(stale), DELETE_CHUNK):
            part = stale[i : i + DELETE_CHUNK]
            self._send(
                lambda part=part: table.delete(returning="minimal").in_(key, part).execute(),
                idempotent=True,
            )

    def _send(self, call: Callable[[], Any], *, idempotent: bool) -> Any:
        import httpx
        from postgrest.exceptions import APIError

        attempt = 0
        while True:
            self.last_status[0] = 0
            try:
                return call()
            except APIError as exc:
                status = self.last_status[0]
                safe = status in (429, 503) or (idempotent and status >= 500)
                if not safe or attempt >= self.retries:
                    raise StepError(self.step_id, self._explain(exc, status)) from exc
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if not (idempotent or never_sent) or attempt >= self.retries:
                    raise StepError(
                        self.step_id,
                        f"the Supabase REST request failed ({type(exc).__name__}: {exc}) after"
                        f" {attempt + 1} attempt(s); {self.committed} row(s) were written before it.",
                        hint=None
                        if idempotent
                        else "An append cannot be retried safely after a"
                        " timeout; check the table before running again.",
                    ) from exc
            time.sleep(min(self.backoff_s * 2**attempt, 30.0))
            attempt += 1

    def _explain(self, exc: Any, status: int) -> str:
        code, message = exc.code or "", (exc.message or str(exc)).rstrip(".")
        name = f"{self.target.schema}.{self.target.table}"
        done = f" {self.committed} row(s) were written before it" + (
            "; re-running is safe." if self.target.mode != "append" else "."
        )
        if code in ("PGRST205", "42P01") or status == 404:
            return (
                f"table {name} is not exposed by the Supabase REST API (unknown table: {message})."
            )
        if code in ("PGRST301", "PGRST302", "PGRST303") or (status == 401 and code != "42501"):
            return (
                f"Supabase rejected the API key ({code}: {message}); check key / service_role_key."
            )
        if code == "42501" or status == 403:
            return (
                f"permission denied writing {name} (row-level security or grants: {message}); use the"
                " service_role key or add a policy that allows the write." + done
            )
        if code == "23505":
            return f"duplicate key writing {name}: {(exc.details or message).rstrip('.')}." + done
        return f"Supabase REST write to {name} failed ({code or status}: {message})." + done


def _as_text(column: str) -> str:
    """``column::text`` for a select: the value in PostgreSQL's own text form, so keys echoed by
    an upsert and keys listed later compare exactly (JSON numbers would be parsed as floats)."""
    return f"{column}::text"
