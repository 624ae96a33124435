"""The options of ``osiris run`` that pick or tune a remote adapter, kept out of run_cmd.

They are plain values: core never imports the plugin that uses them. ``--e2b`` is
``--adapter e2b``; the ``--e2b-*`` values reach the adapter as
``ExecutionContext.adapter_options == {"e2b": {key: value}}`` (the shape
``osiris.settings.load_settings(cli=...)`` takes), keyed like the ``e2b:`` section of osiris.yaml,
so the adapter resolves them against that file and ``OSIRIS_E2B_*`` with one precedence rule.
A flag not given is absent, never False, so it cannot override osiris.yaml.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from osiris.errors import InvalidInputError

E2B_FLAGS: dict[str, tuple[str, str]] = {
    # click parameter -> (settings key in the e2b section, the flag as typed)
    "e2b_template": ("template", "--e2b-template"),
    "e2b_timeout": ("timeout_s", "--e2b-timeout"),
    "e2b_install_deps": ("install_deps", "--e2b-install-deps"),
    "e2b_allow_local_hosts": ("allow_local_hosts", "--e2b-allow-local-hosts"),
}


def adapter_cli_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--e2b`` and ``--e2b-*`` to a command that has ``--adapter``; the command receives
    ``adapter`` (``e2b`` when ``--e2b`` was given) and ``adapter_options`` instead."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        use_e2b = kwargs.pop("e2b")
        given: dict[str, Any] = {}
        for param, (key, _flag) in E2B_FLAGS.items():
            value = kwargs.pop(param)
            if value is not None:
                given[key] = value
        adapter = kwargs.get("adapter", "local")
        if use_e2b:
            if adapter not in ("local", "e2b"):
                raise InvalidInputError(f"--e2b and --adapter {adapter} contradict each other.")
            kwargs["adapter"] = adapter = "e2b"
        if given and adapter != "e2b":
            flags = ", ".join(flag for key, flag in E2B_FLAGS.values() if key in given)
            raise InvalidInputError(
                f"{flags} {'applies' if len(given) == 1 else 'apply'} to E2B runs only.",
                hint="Add --e2b (or --adapter e2b).",
            )
        kwargs["adapter_options"] = {"e2b": given} if given else {}
        return command(*args, **kwargs)

    options = [
        click.option(
            "--e2b",
            is_flag=True,
            help="Run in an E2B sandbox (same as --adapter e2b; needs osiris-remote-e2b).",
        ),
        click.option("--e2b-template", help="E2B sandbox template (default: e2b.template)."),
        click.option(
            "--e2b-timeout",
            type=click.IntRange(min=1),
            help="Sandbox lifetime in seconds (default: e2b.timeout_s).",
        ),
        click.option(
            "--e2b-install-deps",
            is_flag=True,
            default=None,
            help="Install the wheels' dependencies from the package index in the sandbox.",
        ),
        click.option(
            "--e2b-allow-local-hosts",
            is_flag=True,
            default=None,
            help="Allow connections to loopback/private hosts (they must be reachable from it).",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
