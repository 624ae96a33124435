"""Isolation checks: each package tested in an environment holding only osiris-core and itself.

This proves a plugin installs, registers and passes its tests without its siblings, which is
how users install it (``pip install osiris-core osiris-driver-mysql``). ``cross`` runs the
cross-package and end-to-end tests with everything installed. ``scripts/test.sh`` is the
everyday command; run these with ``nox`` (or ``nox -s driver-mysql``).
"""

import shutil

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True

PLUGINS = [
    "osiris-driver-filesystem",
    "osiris-driver-mysql",
    "osiris-driver-supabase",
    "osiris-remote-e2b",
    "osiris-llm",
]
TEST_TOOLS = ["pytest>=8", "starlette>=0.37", "uvicorn>=0.30", "playwright>=1.50"]
ALL = ["osiris-core", *PLUGINS]


@nox.session(name="core")
def core(session: nox.Session) -> None:
    """osiris-core alone: no plugin package installed."""
    session.install(*TEST_TOOLS, "-e", "osiris-core")
    session.run("pytest", "-p", "no:cacheprovider", "osiris-core/tests", *session.posargs)


@nox.session
@nox.parametrize("package", [nox.param(p, id=p.removeprefix("osiris-")) for p in PLUGINS])
def plugin(session: nox.Session, package: str) -> None:
    """One plugin with osiris-core and nothing else (mysql with its C reader where it builds)."""
    headers = shutil.which("mariadb_config") or shutil.which("mysql_config")
    target = f"{package}[fast]" if package == "osiris-driver-mysql" and headers else package
    session.install(*TEST_TOOLS, "-e", "osiris-core", "-e", target)
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        f"{package}/tests",
        *session.posargs,
        success_codes=[0, 5],
    )


@nox.session
def cross(session: nox.Session) -> None:
    """Cross-package and end-to-end tests with every package installed."""
    session.install(*TEST_TOOLS, *[arg for p in ALL for arg in ("-e", p)])
    session.run("pytest", "-p", "no:cacheprovider", "tests", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
