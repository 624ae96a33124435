"""``osiris llm providers`` and ``osiris llm doctor``: which providers exist, whether one works."""

from __future__ import annotations

import json
import time
from typing import Any

import click


@click.group("llm", short_help="LLM providers: list them, check the configured one.")
def llm() -> None:
    """LLM providers registered by installed plugins, and a check of the configured one."""


@llm.command("providers")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def providers(as_json: bool) -> None:
    """Every installed provider with its package, default model and key variable."""
    from osiris.registry import build_registry

    items = [
        {
            "name": name,
            "distribution": provided.distribution,
            "version": provided.version,
            "default_model": provided.item.default_model,
            "api_key_env": provided.item.api_key_env,
            "base_url_env": provided.item.base_url_env,
            "description": provided.item.description,
        }
        for name, provided in sorted(build_registry().llm_providers.items())
    ]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    from osiris.cli.components_cmd import table

    rows = [
        (
            i["name"],
            i["distribution"],
            i["default_model"] or "",
            i["api_key_env"] or "",
            i["description"],
        )
        for i in items
    ]
    click.echo(table(("PROVIDER", "PACKAGE", "DEFAULT MODEL", "KEY VARIABLE", "ABOUT"), rows))


@llm.command("doctor")
@click.option("--provider", help="Provider to check (default: llm.provider).")
@click.option("--model", help="Model to check (default: llm.model).")
@click.option("--base-url", help="Server URL to check (default: llm.base_url).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def doctor(provider: str | None, model: str | None, base_url: str | None, as_json: bool) -> None:
    """Send one tiny request; print the model and latency, or what is wrong in one sentence.

    Exit codes: 0 it answered, 1 the service failed or cannot be reached, 2 the settings are
    wrong (unknown provider, no key, key refused, unknown model).
    """
    from osiris.errors import OsirisError
    from osiris.llm import ChatRequest, Message
    from osiris.registry import build_registry

    from osiris_llm.settings import choose_provider, load_llm_settings

    settings = load_llm_settings({"provider": provider, "model": model, "base_url": base_url})
    report: dict[str, Any] = {
        "provider": settings.provider,
        "model": settings.model,
        "ok": False,
        "sources": dict(settings.sources or {}),  # where each setting came from (CLI, ENV, ...)
    }
    try:
        choice = choose_provider(settings, build_registry())
        config = choice.config
        report.update(
            model=config.model, base_url=config.base_url, key_variable=choice.key_variable
        )
        started = time.perf_counter()
        reply = choice.build().chat(
            ChatRequest(
                messages=[Message("user", "Reply with the single word: ok")],
                max_tokens=8,
                timeout_s=min(config.timeout_s, 30.0),
            )
        )
        report.update(
            ok=True,
            served_model=reply.model or config.model,
            latency_ms=int((time.perf_counter() - started) * 1000),
            reply=reply.text.strip()[:40],
        )
    except OsirisError as exc:
        report.update(error=str(exc), exit_code=exc.exit_code)
        _print(report, as_json)
        raise click.exceptions.Exit(exc.exit_code) from None
    _print(report, as_json)


def _print(report: dict[str, Any], as_json: bool) -> None:
    from osiris.masking import process_masker

    if as_json:
        click.echo(process_masker.mask(json.dumps(report, indent=2)))
    elif report["ok"]:
        where = f" at {report['base_url']}" if report.get("base_url") else ""
        click.echo(
            f"{report['provider']} {report['served_model']}{where}: answered in"
            f" {report['latency_ms']} ms."
        )
    else:
        click.echo(f"{report['provider']}: {process_masker.mask(report['error'])}", err=True)
