"""A local HTTP server that speaks the OpenAI chat-completions and Anthropic messages protocols.

For tests of the real ``openai`` and ``anthropic`` SDKs (and of anything built on a provider):
it answers from scripted turns — text, tool calls, SSE streaming with tool-call arguments in
fragments, 429/5xx/401/404 errors, slow replies, replies held until released — and records every
request it received. Only the standard library; it listens on 127.0.0.1 only.

    with LLMTestServer() as server:
        server.script(Turn(tool_calls=[("discover", {"connection": "@mysql.db"})]), Turn(text="Done"))
        OpenAI(base_url=server.openai_url, api_key="test")...
        server.requests[0]["body"]["messages"]
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Turn:
    """One scripted reply. ``status`` other than 200 sends an error body of that protocol.

    ``delay_s`` waits before answering (a slow server); ``hold`` waits until the event is set or
    the server stops (a reply that never comes, for kill and timeout tests); ``chunk`` is the
    size of the fragments streamed text and tool arguments are cut into.
    """

    text: str = ""
    tool_calls: Sequence[tuple[str, dict[str, Any]]] = ()
    status: int = 200
    error: str = "scripted error"
    delay_s: float = 0.0
    hold: threading.Event | None = None
    stop_reason: str | None = None
    raw_arguments: str | None = None
    """Send this text as the first tool call's arguments instead of the JSON of its dict."""
    chunk: int = 7
    input_tokens: int = 11
    output_tokens: int = 5


Script = Turn | Callable[[dict[str, Any]], Turn]
"""A turn, or a function of the recorded request that returns one (replies that depend on it)."""


@dataclass
class LLMTestServer:
    """Serve scripted turns on 127.0.0.1; ``requests`` records each one (path, headers, body)."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    default: Script | None = None
    """Answer for a request when the script is empty (None: a 500 naming the problem)."""

    def __post_init__(self) -> None:
        self._turns: list[Script] = []
        self._lock = threading.Condition()
        self._stopped = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> LLMTestServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    # -- script --------------------------------------------------------------------------------
    def script(self, *turns: Script) -> None:
        with self._lock:
            self._turns.extend(turns)

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> None:
        """Block until ``count`` requests arrived (an event to wait on, not a sleep)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"{len(self.requests)} of {count} requests arrived")

    def bodies(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests]

    def _next(self, record: dict[str, Any]) -> Turn | None:
        with self._lock:
            self.requests.append(record)
            self._lock.notify_all()
            script = self._turns.pop(0) if self._turns else self.default
        if script is None:
            return None
        return script(record) if callable(script) else script


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is expected; keep the test output clean."""


class _Handler(BaseHTTPRequestHandler):
    owner: LLMTestServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        kind = (
            "openai"
            if self.path.endswith("/chat/completions")
            else "anthropic"
            if self.path.endswith("/messages")
            else None
        )
        record = {
            "path": self.path,
            "protocol": kind,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "raw": raw.decode("utf-8", "replace"),
        }
        turn = self.owner._next(record)
        if kind is None:
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        if turn is None:
            turn = Turn(status=500, error="the test script has no turn left for this request")
        if turn.hold is not None:
            while not turn.hold.wait(0.05):
                if self.owner._stopped.is_set():
                    return
        if turn.delay_s:
            time.sleep(turn.delay_s)
        if turn.status != 200:
            self._error(kind, turn)
            return
        model = body.get("model") or "test-model"
        number = next(self.owner._ids)
        if kind == "openai":
            if body.get("stream"):
                self._sse(_openai_stream(turn, model, number), openai=True)
            else:
                self._json(200, _openai_body(turn, model, number))
        elif body.get("stream"):
            self._sse(_anthropic_stream(turn, model, number), openai=False)
        else:
            self._json(200, _anthropic_body(turn, model, number))

    # -- writing -------------------------------------------------------------------------------
    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, kind: str, turn: Turn) -> None:
        # retry-after 0: clients that honour it retry at once, so tests need no waiting
        headers = {"retry-after": "0", "x-should-retry": "false"}
        if kind == "openai":
            payload = {"error": {"message": turn.error, "type": "error", "code": turn.status}}
        else:
            names = {401: "authentication_error", 404: "not_found_error", 429: "rate_limit_error"}
            error_type = names.get(turn.status, "api_error")
            payload = {"type": "error", "error": {"type": error_type, "message": turn.error}}
        self._json(turn.status, payload, headers)

    def _sse(self, events: list[tuple[str | None, Any]], *, openai: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            head = f"event: {name}\n" if name else ""
            self.wfile.write(f"{head}data: {text}\n\n".encode())
            self.wfile.flush()
        self.close_connection = True


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), max(size, 1))] or [""]


def _arguments(turn: Turn, index: int, args: dict[str, Any]) -> str:
    if index == 0 and turn.raw_arguments is not None:
        return turn.raw_arguments
    return json.dumps(args)


def _openai_finish(turn: Turn) -> str:
    return turn.stop_reason or ("tool_calls" if turn.tool_calls else "stop")


def _openai_body(turn: Turn, model: str, number: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{number}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": _arguments(turn, i, args)},
            }
            for i, (name, args) in enumerate(turn.tool_calls)
        ]
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _openai_finish(turn)}],
        "usage": {
            "prompt_tokens": turn.input_tokens,
            "completion_tokens": turn.output_tokens,
            "total_tokens": turn.input_tokens + turn.output_tokens,
        },
    }


def _openai_stream(turn: Turn, model: str, number: int) -> list[tuple[str | None, Any]]:
    head = {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
        return None, {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": ""})]
    if turn.text:
        events += [chunk({"content": piece}) for piece in _pieces(turn.text, turn.chunk)]
    for i, (name, args) in enumerate(turn.tool_calls):
        call_id = f"call_{number}_{i}"
        start = {"index": i, "id": call_id, "type": "function"}
        events.append(
            chunk({"tool_calls": [{**start, "function": {"name": name, "arguments": ""}}]})
        )
        for piece in _pieces(_arguments(turn, i, args), turn.chunk):
            events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    events.append(chunk({}, _openai_finish(turn)))
    usage = {
        "prompt_tokens": turn.input_tokens,
        "completion_tokens": turn.output_tokens,
        "total_tokens": turn.input_tokens + turn.output_tokens,
    }
    events.append((None, {**head, "choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return events


def _anthropic_stop(turn: Turn) -> str:
    return turn.stop_reason or ("tool_use" if turn.tool_calls else "end_turn")


def _anthropic_body(turn: Turn, model: str, number: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if turn.text:
        content.append({"type": "text", "text": turn.text})
    for i, (name, args) in enumerate(turn.tool_calls):
        content.append(
            {"type": "tool_use", "id": f"toolu_{number}_{i}", "name": name, "input": args}
        )
    return {
        "id": f"msg_{number}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _anthropic_stop(turn),
        "stop_sequence": None,
        "usage": {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens},
    }


def _anthropic_stream(turn: Turn, model: str, number: int) -> list[tuple[str | None, Any]]:
    start = {
        "type": "message_start",
        "message": {
            "id": f"msg_{number}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": turn.input_tokens, "output_tokens": 1},
        },
    }
    events: list[tuple[str | None, Any]] = [("message_start", start)]
    index = 0
    if turn.text:
        block = {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        events.append(("content_block_start", block))
        for piece in _pieces(turn.text, turn.chunk):
            delta = {"type": "text_delta", "text": piece}
            events.append(
                ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        index = 1
    for i, (name, args) in enumerate(turn.tool_calls):
        block = {"type": "tool_use", "id": f"toolu_{number}_{i}", "name": name, "input": {}}
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block},
            )
        )
        for piece in _pieces(_arguments(turn, i, args), turn.chunk):
            delta = {"type": "input_json_delta", "partial_json": piece}
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    message_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": _anthropic_stop(turn), "stop_sequence": None},
        "usage": {"output_tokens": turn.output_tokens},
    }
    events.append(("message_delta", message_delta))
    events.append(("message_stop", {"type": "message_stop"}))
    return events
