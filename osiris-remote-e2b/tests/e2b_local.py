"""A local E2B for the tests: an envd-compatible server and a fake control plane.

The envd side is built on the Connect RPC server stubs and the JSON codec that ship inside the
``e2b`` wheel (``e2b.envd.process.process_connect``, ``e2b.envd.filesystem.filesystem_connect``,
``e2b.envd.client_shared.ENVD_JSON_CODEC``), so the real SDK talks to it unchanged. Commands run
as real subprocesses (``/bin/bash -l -c CMD`` as envd runs them) with a scratch directory as the
user's home; paths outside that directory are refused, so a test cannot touch the host by
accident. The environment of a command is a minimal base (HOME, PATH, LANG) plus the ``envs``
of the request: nothing of the test process leaks in, which is what the secrets tests rely on.

``LocalE2B`` runs both on 127.0.0.1 (random ports, uvicorn in a thread) and sets the variables the
SDK reads: ``E2B_DEBUG=true`` + ``E2B_SANDBOX_URL`` for the debug path, or ``E2B_API_URL`` +
``E2B_SANDBOX_URL`` + ``E2B_API_KEY`` for the control-plane path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2b.envd.filesystem.filesystem_connect import Filesystem
from e2b.envd.process.process_connect import Process

API_KEY = "e2b_test_key_0123456789"
"""The key the fake control plane accepts; any other gets a 401."""


# -- envd ------------------------------------------------------------------------------------------
@dataclass
class Proc:
    """A command started through the Process service."""

    pid: int
    cmd: str
    args: list[str]
    envs: dict[str, str]
    cwd: str
    process: asyncio.subprocess.Process
    tag: str | None = None


@dataclass
class Envd:
    """State shared by the services: the home directory, processes, and test hooks."""

    home: Path
    path_prefix: str = field(default_factory=lambda: str(Path(sys.executable).parent))
    procs: dict[int, Proc] = field(default_factory=dict)
    started: list[Proc] = field(default_factory=list)
    """Every command ever started (the secrets test reads their environments)."""
    uploads: list[tuple[Path, bytes]] = field(default_factory=list)
    """Every file written through ``POST /files``, with the bytes received."""
    on_line: Callable[[Proc, bytes], str | None] | None = None
    """Test hook called with each stdout line: return "kill" to SIGKILL the process, "drop" to
    cut the connection of its stream (no end of stream, as when a network drops)."""
    fail_download: Callable[[Path], bool] | None = None
    """Test hook: ``GET /files`` of a path it returns True for answers 500."""
    loop: asyncio.AbstractEventLoop | None = None

    def resolve(self, path: str) -> Path:
        """envd resolves a relative path against the user's home; outside it is refused here."""
        from connectrpc.code import Code
        from connectrpc.errors import ConnectError

        candidate = Path(os.path.expanduser(path.replace("~", str(self.home), 1)))
        target = (candidate if candidate.is_absolute() else self.home / candidate).resolve()
        if target != self.home and self.home not in target.parents:
            raise ConnectError(Code.PERMISSION_DENIED, f"path {path} is outside the sandbox")
        return target

    def base_env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "USER": "user",
            "LANG": "C.UTF-8",
            "PATH": f"{self.path_prefix}:/usr/local/bin:/usr/bin:/bin",
        }

    def kill_all(self) -> None:
        """What killing a sandbox does to its processes."""
        for proc in list(self.procs.values()):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

    def running(self, settle_s: float = 10.0) -> list[int]:
        """Pids still alive; a process just killed is given ``settle_s`` to be reaped."""
        import time

        deadline = time.monotonic() + settle_s
        while True:
            alive = [p.pid for p in list(self.procs.values()) if p.process.returncode is None]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.02)


class DropConnection(Exception):
    """Raised inside the ASGI send path: uvicorn then closes the socket mid-response."""


class ProcessService(Process):
    """Start, List and SendSignal; the rest answers UNIMPLEMENTED (the stub's default)."""

    def __init__(self, envd: Envd) -> None:
        self.envd = envd

    async def start(self, request: Any, ctx: Any) -> AsyncIterator[Any]:
        from e2b.envd.process import process_pb
        from protobuf import Oneof

        envd = self.envd
        envd.loop = asyncio.get_running_loop()
        config = request.process
        cwd = envd.resolve(config.cwd) if config.has_field("cwd") else envd.home
        env = {**envd.base_env(), **dict(config.envs)}
        process = await asyncio.create_subprocess_exec(
            config.cmd,
            *config.args,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        proc = Proc(
            process.pid, config.cmd, list(config.args), dict(config.envs), str(cwd), process
        )
        envd.procs[proc.pid] = proc
        envd.started.append(proc)

        def event(**kwargs: Any) -> Any:
            name, value = next(iter(kwargs.items()))
            return process_pb.StartResponse(event=process_pb.ProcessEvent(event=Oneof(name, value)))

        yield event(start=process_pb.ProcessEvent.StartEvent(pid=proc.pid))
        queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()

        async def pump(stream: asyncio.StreamReader, name: str) -> None:
            while chunk := await stream.read(65536):
                await queue.put((name, chunk))
            await queue.put(None)

        tasks = [
            asyncio.create_task(pump(process.stdout, "stdout")),  # type: ignore[arg-type]
            asyncio.create_task(pump(process.stderr, "stderr")),  # type: ignore[arg-type]
        ]
        pending_line = b""
        try:
            open_streams = 2
            while open_streams:
                item = await queue.get()
                if item is None:
                    open_streams -= 1
                    continue
                name, chunk = item
                yield event(data=process_pb.ProcessEvent.DataEvent(output=Oneof(name, chunk)))
                if name == "stdout" and envd.on_line is not None:
                    pending_line += chunk
                    *lines, pending_line = pending_line.split(b"\n")
                    for line in lines:
                        action = envd.on_line(proc, line)
                        if action == "kill":
                            with contextlib.suppress(ProcessLookupError):
                                os.killpg(proc.pid, signal.SIGKILL)
                        elif action == "drop":
                            yield event(data=process_pb.ProcessEvent.DataEvent())
            code = await process.wait()
        finally:
            for task in tasks:
                task.cancel()
        status = f"exit status {code}" if code >= 0 else f"signal: {signal.Signals(-code).name}"
        yield event(
            end=process_pb.ProcessEvent.EndEvent(
                exit_code=code if code >= 0 else 128 - code, exited=code >= 0, status=status
            )
        )
        envd.procs.pop(proc.pid, None)

    async def list(self, request: Any, ctx: Any) -> Any:
        from e2b.envd.process import process_pb

        return process_pb.ListResponse(
            processes=[
                process_pb.ProcessInfo(
                    pid=p.pid,
                    config=process_pb.ProcessConfig(cmd=p.cmd, args=p.args, envs={}, cwd=p.cwd),
                )
                for p in self.envd.procs.values()
                if p.process.returncode is None
            ]
        )

    async def send_signal(self, request: Any, ctx: Any) -> Any:
        from connectrpc.code import Code
        from connectrpc.errors import ConnectError
        from e2b.envd.process import process_pb

        pid = request.process.selector.value
        proc = self.envd.procs.get(pid)
        if proc is None or proc.process.returncode is not None:
            raise ConnectError(Code.NOT_FOUND, f"process with pid {pid} not found")
        number = signal.SIGKILL if request.signal == process_pb.Signal.SIGKILL else signal.SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, number)
        return process_pb.SendSignalResponse()


class FilesystemService(Filesystem):
    """Stat, ListDir, MakeDir, Remove; the rest answers UNIMPLEMENTED (the stub's default)."""

    def __init__(self, envd: Envd) -> None:
        self.envd = envd

    def _entry(self, path: Path) -> Any:
        from e2b.envd.filesystem import filesystem_pb

        info = path.lstat()
        kind = filesystem_pb.FileType.DIRECTORY if path.is_dir() else filesystem_pb.FileType.FILE
        return filesystem_pb.EntryInfo(
            name=path.name,
            type=kind,
            path=str(path),
            size=info.st_size,
            mode=info.st_mode & 0o777,
            permissions=oct(info.st_mode & 0o777),
            owner="user",
            group="user",
        )

    def _existing(self, raw: str) -> Path:
        from connectrpc.code import Code
        from connectrpc.errors import ConnectError

        path = self.envd.resolve(raw)
        if not path.exists():
            raise ConnectError(Code.NOT_FOUND, f"no such file or directory: {raw}")
        return path

    async def stat(self, request: Any, ctx: Any) -> Any:
        from e2b.envd.filesystem import filesystem_pb

        return filesystem_pb.StatResponse(entry=self._entry(self._existing(request.path)))

    async def list_dir(self, request: Any, ctx: Any) -> Any:
        from e2b.envd.filesystem import filesystem_pb

        root = self._existing(request.path)
        depth = request.depth or 1
        entries = []

        def walk(directory: Path, level: int) -> None:
            for child in sorted(directory.iterdir()):
                entries.append(self._entry(child))
                if child.is_dir() and level < depth:
                    walk(child, level + 1)

        walk(root, 1)
        return filesystem_pb.ListDirResponse(entries=entries)

    async def make_dir(self, request: Any, ctx: Any) -> Any:
        from connectrpc.code import Code
        from connectrpc.errors import ConnectError
        from e2b.envd.filesystem import filesystem_pb

        path = self.envd.resolve(request.path)
        if path.exists():
            raise ConnectError(Code.ALREADY_EXISTS, f"{request.path} already exists")
        path.mkdir(parents=True)
        return filesystem_pb.MakeDirResponse(entry=self._entry(path))

    async def remove(self, request: Any, ctx: Any) -> Any:
        import shutil

        from e2b.envd.filesystem import filesystem_pb

        path = self._existing(request.path)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        return filesystem_pb.RemoveResponse()


def envd_app(envd: Envd) -> Any:
    """The ASGI app: the two Connect services, ``/files`` and ``/health``."""
    from e2b.envd.client_shared import ENVD_JSON_CODEC
    from e2b.envd.filesystem.filesystem_connect import FilesystemASGIApplication
    from e2b.envd.process.process_connect import ProcessASGIApplication

    process = ProcessASGIApplication(ProcessService(envd), codecs=[ENVD_JSON_CODEC])
    filesystem = FilesystemASGIApplication(FilesystemService(envd), codecs=[ENVD_JSON_CODEC])

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path.startswith(process.path + "/"):
            await process(scope, receive, _droppable(send))
        elif path.startswith(filesystem.path + "/"):
            await filesystem(scope, receive, send)
        elif path == "/files":
            await _files(envd, scope, receive, send)
        elif path == "/health":
            await _respond(send, 204, b"")
        else:
            await _respond(send, 404, json.dumps({"message": "not found", "code": 404}).encode())

    return app


def _droppable(send: Callable) -> Callable:
    """An empty DataEvent is the hook's marker: raising here makes uvicorn cut the socket."""

    async def wrapped(message: dict) -> None:
        body = message.get("body", b"")
        if message["type"] == "http.response.body" and body.endswith(b'{"event":{"data":{}}}'):
            raise DropConnection("the test dropped the connection")
        await send(message)

    return wrapped


async def _respond(send: Callable, status: int, body: bytes, kind: str = "application/json"):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _files(envd: Envd, scope: dict, receive: Callable, send: Callable) -> None:
    """``GET /files?path=`` streams a file; ``POST /files?path=`` (octet-stream) writes one."""
    from urllib.parse import parse_qs

    from connectrpc.errors import ConnectError

    query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    try:
        path = envd.resolve(query.get("path", ""))
    except ConnectError as exc:
        await _respond(send, 403, json.dumps({"message": exc.message, "code": 403}).encode())
        return
    if scope["method"] == "GET":
        if envd.fail_download is not None and envd.fail_download(path):
            body = json.dumps({"message": "the test failed this download", "code": 500})
            await _respond(send, 500, body.encode())
            return
        if not path.is_file():
            body = json.dumps({"message": f"file {query.get('path')} not found", "code": 404})
            await _respond(send, 404, body.encode())
            return
        data = path.read_bytes()
        await _respond(send, 200, data, "application/octet-stream")
        return
    if not headers.get("content-type", "").startswith("application/octet-stream"):
        body = json.dumps({"message": "this test envd accepts octet-stream uploads", "code": 400})
        await _respond(send, 400, body.encode())
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        while True:
            message = await receive()
            out.write(message.get("body", b""))
            if not message.get("more_body"):
                break
    if headers.get("content-encoding") == "gzip":
        import gzip

        path.write_bytes(gzip.decompress(path.read_bytes()))
    envd.uploads.append((path, path.read_bytes()))
    body = json.dumps([{"name": path.name, "type": "file", "path": str(path)}])
    await _respond(send, 200, body.encode())


# -- control plane -------------------------------------------------------------------------------
@dataclass
class ControlPlane:
    """``POST /v2/sandboxes`` and ``DELETE /sandboxes/{id}``, recording every call."""

    envd: Envd
    created: list[dict[str, Any]] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)
    api_keys: list[str] = field(default_factory=list)

    def app(self) -> Any:
        async def app(scope: dict, receive: Callable, send: Callable) -> None:
            if scope["type"] != "http":
                return
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            key = headers.get("x-api-key", "")
            self.api_keys.append(key)
            if key != API_KEY:
                body = {"code": 401, "message": "Invalid API key, it must start with 'e2b_'"}
                await _respond(send, 401, json.dumps(body).encode())
                return
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            method, path = scope["method"], scope["path"]
            if method == "POST" and path == "/v2/sandboxes":
                request = json.loads(body or b"{}")
                sandbox_id = f"sbx{len(self.created) + 1:04d}"
                self.created.append({"id": sandbox_id, **request})
                reply = {
                    "templateID": request.get("templateID", "base"),
                    "sandboxID": sandbox_id,
                    "clientID": "local",
                    "envdVersion": "0.6.7",
                    "envdAccessToken": "local-envd-token",
                }
                await _respond(send, 201, json.dumps(reply).encode())
            elif method == "DELETE" and path.startswith("/sandboxes/"):
                self.killed.append(path.rsplit("/", 1)[1])
                self.envd.kill_all()
                await _respond(send, 204, b"")
            else:
                await _respond(send, 404, json.dumps({"code": 404, "message": path}).encode())

        return app


# -- serving ---------------------------------------------------------------------------------------
class Served:
    """An ASGI app on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        sock = socket.socket()
        # accepted sockets inherit it: without, delayed ACKs add ~40 ms to every request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_level=os.environ.get("E2B_LOCAL_LOG", "critical"),
            lifespan="off",
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the local server did not start")
            self.thread.join(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class LocalE2B:
    """envd (+ control plane) for one test; ``env`` holds what to export for the SDK."""

    def __init__(self, home: Path, *, debug: bool = True) -> None:
        home.mkdir(parents=True, exist_ok=True)
        # A template's login profile puts its Python first: here, the test interpreter's.
        bin_dir = Path(sys.executable).parent
        (home / ".bash_profile").write_text(f'export PATH="{bin_dir}:$PATH"\n')
        self.envd = Envd(home.resolve())
        self.control = ControlPlane(self.envd)
        self.envd_server = Served(envd_app(self.envd))
        self.control_server = None if debug else Served(self.control.app())
        self.env = {"E2B_SANDBOX_URL": self.envd_server.url, "E2B_HTTP_VERSION": "1.1"}
        if debug:
            self.env["E2B_DEBUG"] = "true"
        else:
            assert self.control_server is not None
            self.env |= {"E2B_API_URL": self.control_server.url, "E2B_API_KEY": API_KEY}

    def stop(self) -> None:
        self.envd.kill_all()
        self.envd_server.stop()
        if self.control_server is not None:
            self.control_server.stop()


@contextlib.contextmanager
def local_e2b(home: Path, monkeypatch: Any, *, debug: bool = True) -> Iterator[LocalE2B]:
    """Start a local E2B and point the SDK at it for the duration of a test."""
    local = LocalE2B(home, debug=debug)
    for name in ("E2B_DEBUG", "E2B_API_URL", "E2B_API_KEY", "E2B_SANDBOX_URL", "E2B_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in local.env.items():
        monkeypatch.setenv(name, value)
    try:
        yield local
    finally:
        local.stop()
