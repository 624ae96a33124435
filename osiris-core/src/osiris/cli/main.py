"""Entry point of the ``osiris`` CLI.

Subcommands are imported only when invoked, and plugin commands are added only when a name is
not a core command or when listing commands, so ``osiris --help`` stays fast. Every
``OsirisError`` becomes one sentence on stderr with its exit code (2 invalid input, 1 failed
run); tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import click

from osiris import __version__

CORE_COMMANDS = {
    "init": ("osiris.cli.init_cmd", "init"),
    "validate": ("osiris.cli.validate_cmd", "validate"),
    "compile": ("osiris.cli.compile_cmd", "compile_"),
    "run": ("osiris.cli.run_cmd", "run"),
    "oml": ("osiris.cli.oml_cmd", "oml"),
    "components": ("osiris.cli.components_cmd", "components"),
    "plugins": ("osiris.cli.plugins_cmd", "plugins"),
    "connections": ("osiris.cli.connections_cmd", "connections"),
    "discover": ("osiris.cli.discover_cmd", "discover"),
    "logs": ("osiris.cli.logs_cmd", "logs"),
    "state": ("osiris.cli.state_cmd", "state"),
}
"""Command name → (module, attribute). The modules import their heavy dependencies lazily too."""


class OsirisGroup(click.Group):
    """Lazy core commands, plugin commands on demand, and one-sentence errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins_loaded = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(set(CORE_COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in CORE_COMMANDS:
            module_name, attr = CORE_COMMANDS[name]
            try:
                return getattr(importlib.import_module(module_name), attr)
            except ImportError:
                return None  # a command not built yet is absent, not a crash
        self._load_plugin_commands()
        return self.commands.get(name)

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from osiris.plugins import get_plugin_manager

        get_plugin_manager().hook.register_commands(cli=self)

    def invoke(self, ctx: click.Context) -> Any:
        from osiris.errors import OsirisError

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `osiris ... | head`: the reader left; nothing to report
            _silence_stdout()
            ctx.exit(1)
        except OsirisError as exc:
            _report(ctx, str(exc), exc)
            ctx.exit(exc.exit_code)
        except Exception as exc:
            _report(
                ctx, f"Unexpected {type(exc).__name__}: {exc}. Run with --debug for details.", exc
            )
            ctx.exit(1)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _report(ctx: click.Context, message: str, exc: BaseException) -> None:
    from osiris.masking import process_masker

    if (ctx.obj or {}).get("debug"):
        tb = "".join(traceback.format_exception(exc))
        click.echo(process_masker.mask(tb), err=True)
    click.echo(f"Error: {process_masker.mask(message)}", err=True)


@click.group(cls=OsirisGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="osiris")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Osiris: describe a data movement, compile it, run it locally or in a sandbox."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    sys.exit(cli.main(prog_name="osiris"))
