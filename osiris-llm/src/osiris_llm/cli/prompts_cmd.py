"""``osiris dump-prompts --export [DIR]``: the chat's prompts as files to edit (pro mode)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("dump-prompts", short_help="Export the chat's prompts for pro mode.")
@click.option(
    "--export",
    "directory",
    is_flag=False,
    flag_value="prompts",
    default=None,
    metavar="[DIR]",
    help="Write the prompts into DIR (default ./prompts).",
)
@click.option("--force", is_flag=True, help="Overwrite prompt files that are already there.")
def dump_prompts(directory: str | None, force: bool) -> None:
    """Write conversation_system.txt, sql_generation_system.txt, user_prompt_template.txt and a
    README of their placeholders; `osiris chat --pro-mode --prompts-dir DIR` uses them."""
    from osiris.errors import InvalidInputError

    from osiris_llm.prompts import PROMPT_FILES, export_prompts

    if directory is None:
        raise InvalidInputError("Say where: osiris dump-prompts --export [DIR].")
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise InvalidInputError(f"{target} exists and is not a directory.")
    there = [name for name in PROMPT_FILES if (target / name).exists()]
    if there and not force:
        raise InvalidInputError(
            f"{target} already holds {', '.join(there)}; edited prompts are not overwritten.",
            hint="Pass --force to replace them, or export into another directory.",
        )
    for path in export_prompts(target):
        click.echo(f"wrote {path}")
    click.echo(f"Edit them, then: osiris chat --pro-mode --prompts-dir {target}")
