"""The one port the adapter needs from a sandbox, and its implementation on the ``e2b`` SDK.

The adapter's protocol (what to upload, what to run, what to download) only sees ``Sandbox``;
everything that knows the SDK (its exceptions, its chunked output, its threads) stays here.
Paths are relative to the sandbox user's home unless absolute.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from osiris.errors import InvalidInputError, OsirisError


@dataclass(frozen=True)
class RemoteFile:
    path: str
    """Absolute path in the sandbox."""
    size: int


@dataclass(frozen=True)
class CommandOutcome:
    exit_code: int
    stderr: str
    """The last 64 KiB of the command's stderr."""


class SandboxLost(OsirisError):
    """The sandbox stopped answering (dropped connection, killed, or past its lifetime)."""

    timed_out = False


class CommandTimedOut(SandboxLost):
    """A command ran past the time it was given."""

    timed_out = True


class Sandbox(Protocol):
    """Upload, download, run a command streaming its output lines, list, close."""

    id: str
    home: str
    """Absolute path of the user's home: where relative paths resolve."""

    def upload(self, path: str, source: Path | bytes) -> int: ...

    def download(self, path: str, target: Path) -> int: ...

    def run(
        self,
        command: str,
        *,
        envs: dict[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        timeout_s: float | None = None,
    ) -> CommandOutcome: ...

    def list(self, path: str) -> list[RemoteFile]: ...

    def close(self) -> None: ...


def open_e2b_sandbox(*, template: str | None, timeout_s: int, api_key: str | None) -> Sandbox:
    """Create a sandbox (the SDK's debug mode and ``E2B_SANDBOX_URL`` apply as usual)."""
    from e2b import Sandbox as SDKSandbox
    from e2b.exceptions import AuthenticationException

    try:
        sdk = SDKSandbox.create(template=template, timeout=timeout_s, api_key=api_key)
    except AuthenticationException as exc:
        raise InvalidInputError(
            f"E2B refused the API key: {exc}.",
            hint="Set E2B_API_KEY to a key from https://e2b.dev/dashboard.",
        ) from None
    except Exception as exc:
        raise OsirisError(f"Could not create an E2B sandbox: {_describe(exc)}") from exc
    try:
        return E2BSandbox(sdk)
    except BaseException:
        with contextlib.suppress(Exception):
            sdk.kill()
        raise


class E2BSandbox:
    """``Sandbox`` on an ``e2b.Sandbox``."""

    def __init__(self, sdk: Any) -> None:
        self._sdk = sdk
        self.id: str = sdk.sandbox_id
        self._running: Any = None
        self._closed = False
        self.home = self._guard("find the home directory", lambda: self._home())

    def _home(self) -> str:
        self._sdk.files.make_dir("osiris")
        return self._sdk.files.get_info("osiris").path.rsplit("/", 1)[0]

    def upload(self, path: str, source: Path | bytes) -> int:
        def write() -> int:
            if isinstance(source, bytes):
                self._sdk.files.write(path, source, use_octet_stream=True)
                return len(source)
            with open(source, "rb") as data:
                self._sdk.files.write(path, data, use_octet_stream=True)
            return source.stat().st_size

        return self._guard(f"upload {path}", write)

    def download(self, path: str, target: Path) -> int:
        def read() -> int:
            size = 0
            with self._sdk.files.read(path, format="stream") as stream, open(target, "wb") as out:
                for chunk in stream:
                    out.write(chunk)
                    size += len(chunk)
            return size

        return self._guard(f"download {path}", read)

    def list(self, path: str) -> list[RemoteFile]:
        from e2b.sandbox.filesystem.filesystem import FileType

        def entries() -> list[RemoteFile]:
            if not self._sdk.files.exists(path):
                return []
            found = self._sdk.files.list(path, depth=64)
            return sorted(
                (RemoteFile(e.path, e.size) for e in found if e.type == FileType.FILE),
                key=lambda f: f.path,
            )

        return self._guard(f"list {path}", entries)

    def run(
        self,
        command: str,
        *,
        envs: dict[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        timeout_s: float | None = None,
    ) -> CommandOutcome:
        """Run ``command``; ``on_line`` gets each stdout line (the SDK hands out chunks).

        The SDK's stream is read in a thread and lines are handed over through a queue, so the
        caller's thread stays interruptible (Ctrl-C) while the SDK blocks on the network.
        """
        from e2b import CommandExitException
        from e2b.exceptions import SandboxNotRunningException, TimeoutException

        items: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        handle = self._guard(
            "start a command",
            lambda: self._sdk.commands.run(
                command, background=True, envs=envs, timeout=timeout_s or 0, retain_output=False
            ),
        )
        self._running = handle

        def pump() -> None:
            try:
                result = handle.wait(
                    on_stdout=lambda text: items.put(("out", text)),
                    on_stderr=lambda text: items.put(("err", text)),
                )
                items.put(("end", result.exit_code))
            except CommandExitException as exc:
                items.put(("end", exc.exit_code))
            except BaseException as exc:
                items.put(("error", exc))

        reader = threading.Thread(target=pump, name="osiris-e2b-stream", daemon=True)
        reader.start()
        pending, stderr = "", ""
        while True:
            try:
                kind, value = items.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind == "out":
                pending += value
                *lines, pending = pending.split("\n")
                for line in lines:
                    if on_line is not None:
                        on_line(line)
            elif kind == "err":
                stderr = (stderr + value)[-65536:]
            elif kind == "error":
                if isinstance(value, SandboxNotRunningException):
                    raise SandboxLost(
                        "The sandbox is no longer running (killed, or past its lifetime)."
                    ) from value
                if isinstance(value, TimeoutException):
                    raise CommandTimedOut(
                        f"The command in the sandbox ran past its {timeout_s:g} s limit."
                    ) from value
                raise SandboxLost(
                    f"Lost the connection to the sandbox: {_describe(value)}"
                ) from value
            else:
                if pending and on_line is not None:
                    on_line(pending)
                self._running = None  # ended: an interrupted one stays for close() to kill
                return CommandOutcome(int(value), stderr)

    def close(self) -> None:
        """Kill what still runs and the sandbox; safe to call twice and after a failure."""
        if self._closed:
            return
        self._closed = True
        running, self._running = self._running, None
        if running is not None:
            with contextlib.suppress(Exception):  # the sandbox kill below ends it anyway
                running.kill()
        self._sdk.kill()

    def _guard(self, action: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except OsirisError:
            raise
        except Exception as exc:
            raise SandboxLost(f"Could not {action} in the sandbox: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if text.endswith(".") else text + "."
