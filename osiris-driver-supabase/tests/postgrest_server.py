"""A small PostgREST-compatible server over real PostgreSQL, for testing with the real client.

No PostgREST binary is obtainable here, so this mirrors the parts of its behaviour the
``supabase`` client relies on: HS256 JWT verification and ``SET LOCAL ROLE`` from the ``role``
claim, GET with filters / order / limit / offset / Range and ``Prefer: count=exact``, POST insert
through ``json_populate_recordset`` with ``columns`` and ``on_conflict`` upserts (merge or
ignore duplicates), PATCH, DELETE, the OpenAPI description at ``/rest/v1/``, and errors shaped
``{code, message, details, hint}`` with PostgREST's status codes. Every request is recorded and
write requests can be made to fail on purpose (``fail_writes``) to test retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import sql

_OPS = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "like": "LIKE",
    "ilike": "ILIKE",
}
_RESERVED = {"select", "order", "limit", "offset", "on_conflict", "columns"}
_SELECT_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:::([a-z ]+))?$")


def make_jwt(secret: str, role: str, *, exp: int | None = None) -> str:
    """An HS256 token as Supabase issues them (``role`` claim)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"role": role, "iss": "supabase", "exp": exp or int(time.time()) + 3600}
    payload = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(sig)}"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None, hint: Any = None):
        super().__init__(message)
        self.status, self.body = (
            status,
            {"code": code, "message": message, "details": details, "hint": hint},
        )


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any


@dataclass
class PostgrestServer:
    dsn: str
    jwt_secret: str
    schemas: list[str]
    requests: list[Recorded] = field(default_factory=list)
    fail_writes: list[int] = field(default_factory=list)
    """HTTP statuses to answer the next write requests with (consumed one per request)."""
    max_rows: int | None = None
    """PostgREST's ``db-max-rows`` (Supabase's "Max rows"): no response holds more rows."""
    port: int = 0
    record: bool = True
    """Keep every request in ``requests`` (benchmarks turn it off to keep memory flat)."""

    def start(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                query = parse_qsl(url.query, keep_blank_values=True)
                body = json.loads(raw) if raw else None
                if server.record:
                    server.requests.append(
                        Recorded(
                            self.command,
                            url.path,
                            query,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                        )
                    )
                try:
                    status, headers, payload = server.dispatch(
                        self.command, url.path, query, self.headers, body
                    )
                except ApiError as exc:
                    status, headers, payload = exc.status, {}, json.dumps(exc.body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if payload is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload or b"")))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = do_HEAD = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ---- request handling ---------------------------------------------------------------

    def role_for(self, headers: Any) -> str:
        auth = headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip()
        if not token:
            return "anon"
        if token.startswith("sb_secret_"):
            return "service_role"
        if token.startswith("sb_publishable_"):
            return "anon"
        try:
            header, payload, sig = token.split(".")
            expected = hmac.new(
                self.jwt_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(
                base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)), expected
            ):
                raise ValueError("JWSInvalidSignature")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, json.JSONDecodeError) as exc:
            raise ApiError(401, "PGRST301", "JWSError JWSInvalidSignature", str(exc)) from exc
        if claims.get("exp") and claims["exp"] < time.time():
            raise ApiError(401, "PGRST303", "JWT expired")
        return str(claims.get("role") or "anon")

    def dispatch(
        self, method: str, path: str, query: list[tuple[str, str]], headers: Any, body: Any
    ):
        if not path.startswith("/rest/v1"):
            raise ApiError(404, "PGRST125", f"Invalid path {path}")
        role = self.role_for(headers)
        profile = headers.get("Accept-Profile" if method in ("GET", "HEAD") else "Content-Profile")
        schema = profile or self.schemas[0]
        if schema not in self.schemas:
            raise ApiError(
                406,
                "PGRST106",
                f"The schema must be one of the following: {', '.join(self.schemas)}",
            )
        if method in ("POST", "PATCH", "DELETE") and self.fail_writes:
            status = self.fail_writes.pop(0)
            raise ApiError(status, "PGRST000", "injected failure for a retry test")
        table = path.removeprefix("/rest/v1").strip("/")
        with psycopg.connect(self.dsn) as conn:
            try:
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                if not table:
                    return 200, {}, json.dumps(self.openapi(conn, schema)).encode()
                target = sql.Identifier(schema, table)
                if (
                    conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()[0]
                    is None
                ):
                    raise ApiError(
                        404,
                        "PGRST205",
                        f"Could not find the table '{schema}.{table}' in the schema cache",
                    )
                prefer = {
                    p.strip().partition("=")[0]: p.strip().partition("=")[2]
                    for p in (headers.get("Prefer") or "").split(",")
                    if p.strip()
                }
                handler = {
                    "GET": self.get,
                    "HEAD": self.get,
                    "POST": self.post,
                    "PATCH": self.patch,
                    "DELETE": self.delete,
                }[method]
                return handler(conn, target, schema, table, query, headers, body, prefer)
            except psycopg.Error as exc:
                conn.rollback()
                raise _pg_error(exc, role) from exc

    def openapi(self, conn: psycopg.Connection, schema: str) -> dict[str, Any]:
        rows = conn.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, NULL), a.attnotnull,"
            " coalesce(a.attnum = ANY(i.indkey), false)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'p') ORDER BY c.relname, a.attnum",
            (schema,),
        ).fetchall()
        definitions: dict[str, Any] = {}
        for table, column, fmt, notnull, pk in rows:
            d = definitions.setdefault(table, {"type": "object", "properties": {}, "required": []})
            prop: dict[str, Any] = {"format": fmt, "type": _json_type(fmt)}
            if pk:
                prop["description"] = "Note:\nThis is a Primary Key.<pk/>"
            d["properties"][column] = prop
            if notnull:
                d["required"].append(column)
        return {"swagger": "2.0", "info": {"title": "PostgREST API"}, "definitions": definitions}

    def get(self, conn, target, schema, table, query, headers, body, prefer):
        cols = _select(dict(query).get("select", "*"))
        where, params = _where(query)
        order = _order(dict(query).get("order"))
        limit, offset = dict(query).get("limit"), int(dict(query).get("offset") or 0)
        if rng := headers.get("Range"):
            first, _, last = rng.partition("-")
            offset = int(first)
            limit = str(int(last) - int(first) + 1) if last else limit
        stmt = sql.SQL("SELECT {} FROM {}{}{}").format(cols, target, where, order)
        if self.max_rows is not None:
            limit = min(int(limit), self.max_rows) if limit is not None else self.max_rows
        if limit is not None:
            stmt += sql.SQL(" LIMIT {}").format(sql.Literal(int(limit)))
        if offset:
            stmt += sql.SQL(" OFFSET {}").format(sql.Literal(offset))
        data = conn.execute(
            sql.SQL("SELECT coalesce(json_agg(t), '[]')::text FROM ({}) t").format(stmt), params
        )
        text = data.fetchone()[0]
        n = len(json.loads(text))
        out = {"Content-Range": f"{offset}-{offset + n - 1}/*" if n else "*/*"}
        if prefer.get("count") == "exact":
            total = conn.execute(
                sql.SQL("SELECT count(*) FROM {}{}").format(target, where), params
            ).fetchone()[0]
            out["Content-Range"] = out["Content-Range"].replace("/*", f"/{total}")
        return 200, out, text.encode()

    def post(self, conn, target, schema, table, query, headers, body, prefer):
        rows = body if isinstance(body, list) else [body]
        q = dict(query)
        if "columns" in q:
            names = [c.strip().strip('"') for c in q["columns"].split(",")]
        else:
            names = list(dict.fromkeys(k for r in rows for k in r))
        cols = sql.SQL(", ").join(map(sql.Identifier, names))
        stmt = sql.SQL(
            "INSERT INTO {} ({}) SELECT {} FROM json_populate_recordset(null::{}, %s)"
        ).format(target, cols, cols, target)
        resolution = prefer.get("resolution")
        if resolution:
            keys = (
                [k.strip() for k in q["on_conflict"].split(",")]
                if q.get("on_conflict")
                else _pk(conn, target)
            )
            conflict = sql.SQL(", ").join(map(sql.Identifier, keys))
            if resolution == "ignore-duplicates":
                stmt += sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(conflict)
            else:
                sets = sql.SQL(", ").join(
                    sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                    for c in names
                    if c not in keys
                )
                stmt += sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(conflict, sets)
        return self._write(conn, stmt, [json.dumps(rows)], prefer, 201, query)

    def patch(self, conn, target, schema, table, query, headers, body, prefer):
        where, params = _where(query)
        names = list(body)
        stmt = sql.SQL(
            "UPDATE {} SET ({}) = (SELECT {} FROM json_populate_record(null::{}, %s)){}"
        ).format(
            target,
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(map(sql.Identifier, names)),
            target,
            where,
        )
        if len(names) == 1:  # a one-column row expression needs ROW()
            stmt = sql.SQL(
                "UPDATE {} SET {} = (SELECT {} FROM json_populate_record(null::{}, %s)){}"
            ).format(target, sql.Identifier(names[0]), sql.Identifier(names[0]), target, where)
        return self._write(conn, stmt, [json.dumps(body), *params], prefer, 204, query)

    def delete(self, conn, target, schema, table, query, headers, body, prefer):
        where, params = _where(query)
        return self._write(
            conn, sql.SQL("DELETE FROM {}{}").format(target, where), params, prefer, 204, query
        )

    def _write(self, conn, stmt, params, prefer, minimal_status, query):
        if prefer.get("return") == "representation":
            # The written rows, shaped by ``select`` as PostgREST does (``id::text`` included).
            stmt = sql.SQL(
                "WITH w AS ({} RETURNING *)"
                " SELECT coalesce(json_agg(t), '[]')::text FROM (SELECT {} FROM w) t"
            ).format(stmt, _select(dict(query).get("select", "*")))
            text = conn.execute(stmt, params).fetchone()[0]
            conn.commit()
            n = len(json.loads(text))
            out = {}
            if prefer.get("count") == "exact":  # PostgREST: the rows the statement wrote
                out["Content-Range"] = f"0-{n - 1}/{n}" if n else "*/0"
            return (201 if minimal_status == 201 else 200), out, text.encode()
        written = conn.execute(stmt, params).rowcount
        conn.commit()
        out = {"Content-Range": f"*/{written}"} if prefer.get("count") == "exact" else {}
        return minimal_status, out, None


def _json_type(fmt: str) -> str:
    if fmt.endswith("[]"):
        return "array"
    if fmt in ("smallint", "integer", "bigint"):
        return "integer"
    if fmt in ("numeric", "real", "double precision"):
        return "number"
    return "boolean" if fmt == "boolean" else "string"


def _select(text: str) -> sql.Composable:
    if text.strip() == "*":
        return sql.SQL("*")
    parts = []
    for item in text.split(","):
        m = _SELECT_ITEM.match(item.strip())
        if not m:
            raise ApiError(400, "PGRST100", f"failed to parse select parameter ({item})")
        name, cast = m.groups()
        if cast:
            parts.append(
                sql.SQL("{}::{} AS {}").format(
                    sql.Identifier(name), sql.SQL(cast), sql.Identifier(name)
                )
            )
        else:
            parts.append(sql.Identifier(name))
    return sql.SQL(", ").join(parts)


def _where(query: list[tuple[str, str]]) -> tuple[sql.Composable, list[Any]]:
    conds, params = [], []
    for column, raw in query:
        if column in _RESERVED:
            continue
        negate = raw.startswith("not.")
        op, _, value = raw.removeprefix("not.").partition(".")
        col = sql.Identifier(column)
        if op in _OPS:
            cond = sql.SQL("{} {} %s").format(col, sql.SQL(_OPS[op]))
            params.append(value.replace("*", "%") if op in ("like", "ilike") else value)
        elif op == "is":
            literal = {"null": "NULL", "true": "TRUE", "false": "FALSE"}.get(value.lower())
            if literal is None:
                raise ApiError(400, "PGRST100", f"failed to parse filter (is.{value})")
            cond = sql.SQL("{} IS {}").format(col, sql.SQL(literal))
        elif op == "in":
            # As PostgREST: an untyped array literal, so values compare as the column's type.
            cond = sql.SQL("{} = ANY(%s)").format(col)
            params.append(_in_array(value))
        else:
            raise ApiError(400, "PGRST100", f"failed to parse filter ({raw})")
        conds.append(sql.SQL("NOT ({})").format(cond) if negate else cond)
    if not conds:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds), params


_IN_ITEM = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"\s*|([^,]*)),')


def _in_array(value: str) -> str:
    """``(a,"b,c")`` (PostgREST's ``in`` list, double quotes keep commas) as an array literal."""
    text = value.strip().removeprefix("(").removesuffix(")")
    items = [
        re.sub(r"\\(.)", r"\1", m[1]) if m[1] is not None else m[2].strip()
        for m in _IN_ITEM.finditer(text + ",")
        if text.strip()
    ]
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in items)
    return "{" + ",".join(quoted) + "}"


def _order(text: str | None) -> sql.Composable:
    if not text:
        return sql.SQL("")
    parts = []
    for item in text.split(","):
        name, *mods = item.strip().split(".")
        direction = "DESC" if "desc" in mods else "ASC"
        nulls = (
            " NULLS FIRST" if "nullsfirst" in mods else " NULLS LAST" if "nullslast" in mods else ""
        )
        parts.append(sql.SQL("{} " + direction + nulls).format(sql.Identifier(name)))
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(parts)


def _pk(conn: psycopg.Connection, target: sql.Identifier) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            sql.SQL(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = {}::regclass AND i.indisprimary"
            ).format(sql.Literal(target.as_string(None)))
        ).fetchall()
    ]


def _pg_error(exc: psycopg.Error, role: str) -> ApiError:
    diag = exc.diag
    code = exc.sqlstate or "XX000"
    message = diag.message_primary or str(exc)
    if code == "42501":
        status = 401 if role == "anon" else 403
    elif code in ("23505", "23503"):
        status = 409
    elif code == "42P01":
        status = 404
    elif code.startswith(("08", "53", "57")):
        status = 503
    else:
        status = 400
    return ApiError(status, code, message, diag.message_detail, diag.message_hint)
