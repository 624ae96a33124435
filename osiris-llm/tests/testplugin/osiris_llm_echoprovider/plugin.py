"""Registers the ``echo`` provider, as any third-party package would."""

from osiris import hookimpl


@hookimpl
def register_llm_providers():
    from osiris_llm_echoprovider.provider import EchoProvider

    return [EchoProvider]
