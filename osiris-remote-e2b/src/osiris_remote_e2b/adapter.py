"""The ``e2b`` execution adapter: a transparent proxy around ``python -m osiris.worker``.

prepare: check everything here (components, connections, reachability, the API key), build the
wheels, create the sandbox, upload the pipeline, its input files and the wheels, install them.
execute: start the worker, which runs the local runner's code, and relay its JSON lines into this
session as they arrive. collect: download artifacts and writers' outputs, then close the sandbox.
The sandbox is closed on every path out: success, a failed step, a crashed worker, a timeout,
Ctrl-C, a dropped connection, a failure in any phase.

Sandbox layout (relative to the sandbox user's home): ``osiris/compiled`` (manifest, cfg),
``osiris/connections.yaml`` (``${VAR}`` references only), ``osiris/run_options.json``,
``osiris/wheels`` and ``osiris/site`` (the installed wheels), ``osiris/run`` (the worker's run
directory) and ``osiris/fs/<host path>`` (the mirror of the files the pipeline reads and writes).
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osiris.adapters import CollectedArtifacts, ExecResult, ExecutionAdapter, PreparedRun
from osiris.errors import InvalidInputError, OsirisError

from osiris_remote_e2b import events

if TYPE_CHECKING:
    from osiris.runner.context import ExecutionContext
    from osiris.runner.manifest import Manifest

    from osiris_remote_e2b.sandbox import Sandbox
    from osiris_remote_e2b.settings import E2BOptions

ROOT = "osiris"
LIFETIME_MARGIN_S = 5


class E2BAdapter(ExecutionAdapter):
    """Runs the compiled pipeline in an E2B sandbox with the same events as a local run."""

    name = "e2b"

    def __init__(self) -> None:
        self._sandbox: Sandbox | None = None
        self._opened = 0.0

    # -- prepare ----------------------------------------------------------------------------------
    def prepare(self, manifest: dict[str, Any], ctx: ExecutionContext) -> PreparedRun:
        from osiris.runner.local import check_steps
        from osiris.runner.manifest import load_manifest

        from osiris_remote_e2b.files import plan_files
        from osiris_remote_e2b.settings import resolve_options
        from osiris_remote_e2b.wheels import build_wheels, pipeline_distributions

        plan = ctx.plan or load_manifest(ctx.manifest_path)
        options = resolve_options(ctx.adapter_options.get("e2b"))
        api_key = _api_key(options)
        check_steps(plan, ctx)
        files = plan_files(plan, ctx)
        placeholder_mirror = _mirror("/sandbox-home")  # reachability and shape checks only
        _ship(plan, ctx, options, placeholder_mirror)
        wheels = build_wheels(pipeline_distributions(plan, ctx.registry), options.wheel_cache_dir)
        sandbox = self._open(options, api_key, ctx)
        try:
            mirror = _mirror(sandbox.home)
            shipment = _ship(plan, ctx, options, mirror)
            report = self._upload(sandbox, plan, ctx, files, shipment, wheels, options)
            installed = self._install(sandbox, wheels, report, options, ctx)
        except BaseException as exc:
            self._close(ctx, "interrupted" if isinstance(exc, KeyboardInterrupt) else "error")
            raise
        home = f"{sandbox.home}/{ROOT}"
        env = dict(shipment.env)
        if installed:
            env["PYTHONPATH"] = f"{home}/site"
        _write_provenance(ctx, wheels)
        return PreparedRun(
            manifest=manifest,
            compiled_dir=ctx.compiled_dir,
            extra={"plan": plan, "options": options, "files": files, "env": env, "home": home},
        )

    def _open(self, options: E2BOptions, api_key: str | None, ctx: ExecutionContext) -> Sandbox:
        import e2b  # noqa: F401 - the SDK's import (~0.5 s) is not the sandbox's creation

        from osiris_remote_e2b.sandbox import open_e2b_sandbox

        started = time.perf_counter()
        sandbox = open_e2b_sandbox(
            template=options.template, timeout_s=options.timeout_s, api_key=api_key
        )
        self._sandbox, self._opened = sandbox, started
        ctx.event(
            events.SANDBOX_CREATED,
            sandbox_id=sandbox.id,
            template=options.template or "base",
            timeout_s=options.timeout_s,
            duration_ms=_ms(started),
        )
        return sandbox

    def _upload(
        self,
        sandbox: Sandbox,
        plan: Manifest,
        ctx: ExecutionContext,
        files: Any,
        shipment: Any,
        wheels: list[Any],
        options: E2BOptions,
    ) -> dict[str, Any]:
        """One archive, one request: the pipeline, its input files and the wheels; one command
        unpacks it and reports the sandbox's Python. Round trips, not bytes, cost most here."""
        from osiris_remote_e2b.bundle import pipeline_bundle
        from osiris_remote_e2b.wheels import installed_versions_script

        started = time.perf_counter()
        home = f"{sandbox.home}/{ROOT}"
        mirror = _mirror(sandbox.home)
        bundle = pipeline_bundle(
            plan, ctx, files=files, shipment=shipment, wheels=wheels, home=home, mirror=mirror
        )
        try:
            sent = sandbox.upload(f"{home}/bundle.zip", bundle.path)
        finally:
            bundle.path.unlink(missing_ok=True)
        python = shlex.quote(options.python)
        names = sorted({w.name for w in wheels} | {r for w in wheels for r in w.requires})
        dirs = " ".join(shlex.quote(mirror(d)) for d in files.dirs)
        lines: list[str] = []
        outcome = sandbox.run(
            f"cd {shlex.quote(home)} && {python} -m zipfile -e bundle.zip . && rm bundle.zip"
            f" && mkdir -p run {dirs}"
            f" && {python} -c {shlex.quote(installed_versions_script(names))}",
            on_line=lines.append,
        )
        if outcome.exit_code != 0 or not lines:
            raise OsirisError(
                f"Could not unpack the pipeline with the sandbox's '{options.python}'"
                f" ({_last(outcome.stderr)}).",
                hint="Use a template with Python 3.11 or newer, or set e2b.python.",
            )
        ctx.event(
            events.UPLOAD_COMPLETE, files=bundle.members, bytes=sent, duration_ms=_ms(started)
        )
        return json.loads(lines[-1])

    def _install(
        self,
        sandbox: Sandbox,
        wheels: list[Any],
        report: dict[str, Any],
        options: E2BOptions,
        ctx: ExecutionContext,
    ) -> bool:
        """Install the uploaded wheels unless the template has them; True if installed."""
        from osiris_remote_e2b.wheels import missing_requirements, template_has

        started = time.perf_counter()
        python = shlex.quote(options.python)
        if tuple(report["python"]) < (3, 11):
            raise OsirisError(
                f"The sandbox's {options.python} is Python {'.'.join(map(str, report['python']))};"
                " Osiris needs 3.11 or newer.",
                hint="Use a template with Python 3.11+ (--e2b-template), or set e2b.python.",
            )
        found = report["versions"]
        missing = missing_requirements(wheels, found)
        if missing and not options.install_deps:
            raise OsirisError(
                f"The sandbox's Python lacks {', '.join(missing)}, which the pipeline's packages"
                " need.",
                hint="Pass --e2b-install-deps (installs them from the package index) or use a"
                " template that has them.",
            )
        provenance = [w.provenance() for w in wheels]
        size = sum(w.path.stat().st_size for w in wheels)
        if template_has(wheels, found):
            ctx.event(
                events.DEPS_INSTALLED,
                wheels=provenance,
                bytes=0,
                skipped=True,
                from_index=False,
                duration_ms=_ms(started),
            )
            return False
        home = f"{sandbox.home}/{ROOT}"
        paths = [shlex.quote(f"{home}/wheels/{w.path.name}") for w in wheels]
        site = shlex.quote(f"{home}/site")
        if options.install_deps:
            command = (
                f"{python} -m pip install --quiet --disable-pip-version-check"
                f" --no-warn-script-location --target {site} {' '.join(paths)}"
            )
        else:  # pure-Python wheels without dependencies: unpacking them is installing them
            command = " && ".join(f"{python} -m zipfile -e {p} {site}" for p in paths)
        outcome = sandbox.run(command, timeout_s=options.timeout_s)
        if outcome.exit_code != 0:
            raise OsirisError(
                f"Installing the pipeline's packages in the sandbox failed: {_last(outcome.stderr)}",
                hint="Pass --e2b-install-deps to install their dependencies from the index.",
            )
        ctx.event(
            events.DEPS_INSTALLED,
            wheels=provenance,
            bytes=size,
            skipped=False,
            from_index=options.install_deps,
            duration_ms=_ms(started),
        )
        return True

    # -- execute ----------------------------------------------------------------------------------
    def execute(self, prepared: PreparedRun, ctx: ExecutionContext) -> ExecResult:
        from osiris_remote_e2b.relay import Relay
        from osiris_remote_e2b.sandbox import SandboxLost

        sandbox = self._sandbox
        assert sandbox is not None, "prepare() opens the sandbox"
        options: E2BOptions = prepared.extra["options"]
        home = prepared.extra["home"]
        relay = Relay(ctx, self._paths(ctx, home))
        command = " ".join(
            shlex.quote(part)
            for part in [
                options.python,
                "-m",
                "osiris.worker",
                f"{home}/compiled",
                "--run-dir",
                f"{home}/run",
                "--max-workers",
                str(ctx.max_workers),
                "--run-options",
                f"{home}/run_options.json",
                *(
                    ["--connections", f"{home}/connections.yaml"]
                    if any(s.connection for s in prepared.extra["plan"].steps)
                    else []
                ),
            ]
        )
        # stop the command a little before the sandbox's own end, so a slow run is reported
        # as too slow rather than as a sandbox that vanished
        remaining = options.timeout_s - (time.perf_counter() - self._opened) - LIFETIME_MARGIN_S
        try:
            outcome = sandbox.run(
                command,
                envs=prepared.extra["env"],
                on_line=relay,
                timeout_s=max(1.0, remaining),
            )
        except SandboxLost as exc:
            self._close(ctx, "error")
            if exc.timed_out:
                message = (
                    f"The run did not finish within e2b.timeout_s ({options.timeout_s} s); the"
                    " sandbox was closed. Give it more time with --e2b-timeout or e2b.timeout_s"
                    " in osiris.yaml."
                )
            else:
                message = relay.paths.host(str(exc))
            return self._ended_early(prepared, relay, message)
        except BaseException as exc:
            self._close(ctx, "interrupted" if isinstance(exc, KeyboardInterrupt) else "error")
            raise
        try:
            self._keep_worker_log(ctx, home, outcome.stderr, relay.stray)
        except BaseException as exc:
            self._close(ctx, "interrupted" if isinstance(exc, KeyboardInterrupt) else "error")
            raise
        if relay.result is None:
            self._close(ctx, "error")
            return self._ended_early(
                prepared,
                relay,
                f"The worker in the sandbox exited with code {outcome.exit_code} before it"
                f" reported a result ({_last(relay.paths.host(outcome.stderr))}); see"
                f" {ctx.run_dir / 'e2b' / 'worker.log'}.",
            )
        result = relay.result
        if result.get("exit_code") == 2:
            self._close(ctx, "failed")
            raise InvalidInputError(result.get("error") or "The worker refused the pipeline.")
        prepared.extra["steps"] = result.get("steps") or {}
        prepared.extra["ok"] = bool(result.get("ok"))
        return ExecResult(
            ok=prepared.extra["ok"], steps=prepared.extra["steps"], error=result.get("error")
        )

    def _ended_early(self, prepared: PreparedRun, relay: Any, message: str) -> ExecResult:
        """The run stopped without the worker's result (the sandbox is closed already): the
        steps are what the events said, a step caught running failed with ``message``."""
        prepared.extra["steps"] = relay.steps_so_far(message)
        prepared.extra["ok"] = False
        return ExecResult(ok=False, steps=prepared.extra["steps"], error=message)

    def _paths(self, ctx: ExecutionContext, home: str) -> Any:
        from osiris_remote_e2b.relay import PathMap

        return PathMap(
            [
                (f"{home}/run", str(ctx.run_dir)),
                (f"{home}/compiled", str(ctx.compiled_dir)),
                (f"{home}/fs/", "/"),
            ]
        )

    def _keep_worker_log(
        self, ctx: ExecutionContext, home: str, stderr: str, stray: list[str]
    ) -> None:
        """The worker's osiris.log (tracebacks), stderr and stray stdout, masked, in the session."""
        sandbox = self._sandbox
        assert sandbox is not None
        folder = ctx.run_dir / "e2b"
        folder.mkdir(exist_ok=True)
        target = folder / "worker.log"
        try:
            sandbox.download(f"{home}/run/osiris.log", target)
        except OsirisError:
            target.write_text("")
        text = target.read_text(encoding="utf-8", errors="replace")
        if stderr.strip():
            text += "\n--- worker stderr ---\n" + stderr
        if stray:
            text += "\n--- worker stdout (not JSON) ---\n" + "\n".join(stray) + "\n"
        target.write_text(self._paths(ctx, home).host(ctx.mask(text)), encoding="utf-8")

    # -- collect ----------------------------------------------------------------------------------
    def collect(self, prepared: PreparedRun, ctx: ExecutionContext) -> CollectedArtifacts:
        if self._sandbox is None:  # the run ended early and the sandbox is gone: nothing to get
            return CollectedArtifacts()
        try:
            files = self._download(prepared, ctx)
        except BaseException as exc:
            self._close(ctx, "interrupted" if isinstance(exc, KeyboardInterrupt) else "error")
            raise
        self._close(ctx, "completed" if prepared.extra.get("ok") else "failed")
        return CollectedArtifacts(files=files)

    def _download(self, prepared: PreparedRun, ctx: ExecutionContext) -> list[Path]:
        from osiris.runner.local import mask_text_file

        sandbox = self._sandbox
        assert sandbox is not None
        options: E2BOptions = prepared.extra["options"]
        home = prepared.extra["home"]
        started = time.perf_counter()
        remote_artifacts = f"{home}/run/artifacts"
        artifacts = [
            (f, ctx.artifacts_dir / f.path[len(remote_artifacts) + 1 :])
            for f in sandbox.list(remote_artifacts)
        ]
        mirror = _mirror(sandbox.home)
        outputs = []
        steps = prepared.extra.get("steps", {})
        for step_id, target in prepared.extra["files"].outputs.items():
            if (steps.get(step_id) or {}).get("status") != "succeeded":
                continue  # a failed writer leaves the target as it was, as locally
            remote = mirror(target)
            listed = {f.path: f for f in sandbox.list(remote.rsplit("/", 1)[0])}
            if remote in listed:
                outputs.append((listed[remote], target))
        total = sum(f.size for f, _ in artifacts + outputs)
        if total > options.max_download_bytes:
            raise OsirisError(
                f"The run's artifacts and outputs are {total / 1048576:.1f} MB, over the"
                f" e2b.max_download_mb limit of {options.max_download_mb:g} MB;"
                " nothing was downloaded.",
                hint="Raise e2b.max_download_mb in osiris.yaml (or OSIRIS_E2B_MAX_DOWNLOAD_MB).",
            )
        staged: list[tuple[Path, Path]] = []
        try:
            for remote_file, target in outputs:
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = target.with_name(f".{target.name}.e2b-{os.getpid()}.part")
                staged.append((temporary, target))
                sandbox.download(remote_file.path, temporary)
            for remote_file, target in artifacts:
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = target.with_name(f".{target.name}.e2b-{os.getpid()}.part")
                staged.append((temporary, target))
                sandbox.download(remote_file.path, temporary)
                mask_text_file(temporary, ctx)
        except BaseException:
            for temporary, _ in staged:
                temporary.unlink(missing_ok=True)
            raise
        for temporary, target in staged:  # everything arrived: put it in place together
            os.replace(temporary, target)
        ctx.event(
            events.ARTIFACTS_DOWNLOADED,
            files=len(artifacts) + len(outputs),
            bytes=total,
            duration_ms=_ms(started),
        )
        return sorted(target.relative_to(ctx.artifacts_dir) for _, target in artifacts)

    # -- closing ----------------------------------------------------------------------------------
    def _close(self, ctx: ExecutionContext, reason: str) -> None:
        """Kill the sandbox once; a failure to do so is logged (its lifetime ends it anyway)."""
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is None:
            return
        try:
            sandbox.close()
        except Exception as exc:
            ctx.session.log_exception(f"closing sandbox {sandbox.id} failed", exc)
            reason = "error"
        ctx.event(
            events.SANDBOX_CLOSED,
            sandbox_id=sandbox.id,
            reason=reason,
            duration_ms=_ms(self._opened),
        )


def _api_key(options: E2BOptions) -> str | None:
    """The API key from the environment; none is needed in the SDK's debug mode (local envd)."""
    key = os.environ.get(options.api_key_env)
    if key or os.environ.get("E2B_DEBUG", "").lower() == "true":
        return key
    raise InvalidInputError(
        f"{options.api_key_env} is not set, so no E2B sandbox can be created.",
        hint=f"Create a key at https://e2b.dev/dashboard and export {options.api_key_env}=e2b_...",
    )


def _ship(plan: Manifest, ctx: ExecutionContext, options: E2BOptions, mirror: Any) -> Any:
    from osiris_remote_e2b.shipping import NEVER_FORWARDED, ship_connections

    return ship_connections(
        plan,
        ctx,
        mirror=mirror,
        allow_local_hosts=options.allow_local_hosts,
        never=NEVER_FORWARDED | {options.api_key_env},
    )


def _mirror(home: str) -> Any:
    from osiris_remote_e2b.files import Mirror

    return Mirror(f"{home}/{ROOT}/fs")


def _write_provenance(ctx: ExecutionContext, wheels: list[Any]) -> None:
    folder = ctx.run_dir / "e2b"
    folder.mkdir(exist_ok=True)
    record = {"distributions": [w.provenance() for w in wheels]}
    (folder / "provenance.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _last(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"
