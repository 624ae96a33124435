"""What the sandbox gets of the connections: references only, and only the variables used."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from connections_support import MemFamily, make_registry, write
from osiris.errors import InvalidInputError
from osiris.runner.context import ExecutionContext
from osiris.runner.manifest import Manifest, StepSpec
from osiris_remote_e2b.shipping import is_local_host, ship_connections

PLANTED = "planted-S3cret-value-91"


def _ctx(tmp_path: Path, text: str) -> ExecutionContext:
    path = write(tmp_path / "osiris_connections.yaml", text)
    return ExecutionContext(
        session=None,  # type: ignore[arg-type]
        registry=make_registry(MemFamily()),
        run_dir=tmp_path,
        artifacts_dir=tmp_path / "artifacts",
        manifest_path=tmp_path / "compiled" / "manifest.yaml",
        connections_path=path,
    )


def _plan(tmp_path: Path, *refs: str) -> Manifest:
    steps = tuple(
        StepSpec(id=f"s{i}", component="x.y", mode="extract", config={}, connection=ref)
        for i, ref in enumerate(refs)
    )
    return Manifest("p", tmp_path / "m.yaml", tmp_path, tmp_path, steps)


CONNECTIONS = """\
version: 1
connections:
  memdb:
    main:
      default: true
      host: db.example.com
      user: ${DB_USER}
      password: ${DB_PASSWORD}
    literal:
      host: db2.example.com
      user: admin
      password: PLANTED
    mixed:
      host: db4.example.com
      user: u
      dsn: memdb://u:PLANTED@${DB_HOST}/db
    unused:
      host: db3.example.com
      user: ${UNUSED_USER}
      password: ${UNUSED_PASSWORD}
""".replace("PLANTED", PLANTED)


def test_references_travel_and_values_go_to_the_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_USER", "reader")
    monkeypatch.setenv("DB_PASSWORD", PLANTED + "-env")
    monkeypatch.setenv("UNUSED_PASSWORD", "never-shipped")
    monkeypatch.setenv("SOME_API_KEY", "not-referenced")
    monkeypatch.setenv("DB_HOST", "db4.example.com")
    ctx = _ctx(tmp_path, CONNECTIONS)
    shipment = ship_connections(
        _plan(tmp_path, "@memdb", "@memdb.literal", "@memdb.mixed"),
        ctx,
        mirror=lambda p: "/m" + str(p),
    )
    assert shipment.connections_yaml is not None
    assert PLANTED not in shipment.connections_yaml
    shipped = yaml.safe_load(shipment.connections_yaml)["connections"]["memdb"]
    assert sorted(shipped) == ["literal", "main", "mixed"]
    assert shipped["mixed"]["dsn"] == "${OSIRIS_SECRET_MEMDB_MIXED_DSN}"
    assert shipped["main"] == {
        "default": True,
        "host": "db.example.com",
        "user": "${DB_USER}",
        "password": "${DB_PASSWORD}",
    }
    assert shipped["literal"]["password"] == "${OSIRIS_SECRET_MEMDB_LITERAL_PASSWORD}"
    assert shipped["literal"]["user"] == "admin"
    assert shipment.env == {
        "DB_USER": "reader",
        "DB_PASSWORD": PLANTED + "-env",
        "OSIRIS_SECRET_MEMDB_LITERAL_PASSWORD": PLANTED,
        "OSIRIS_SECRET_MEMDB_MIXED_DSN": f"memdb://u:{PLANTED}@db4.example.com/db",
    }


def test_the_e2b_key_is_never_forwarded(tmp_path, monkeypatch):
    monkeypatch.setenv("E2B_API_KEY", "e2b_secret")
    ctx = _ctx(
        tmp_path,
        "memdb:\n  main:\n    host: db.example.com\n    user: u\n    password: ${E2B_API_KEY}\n",
    )
    with pytest.raises(InvalidInputError, match="never sent into a sandbox"):
        ship_connections(_plan(tmp_path, "@memdb.main"), ctx, mirror=str)


def test_local_hosts_are_refused_unless_allowed(tmp_path):
    ctx = _ctx(tmp_path, "memdb:\n  main:\n    host: 127.0.0.1\n    user: u\n")
    with pytest.raises(InvalidInputError) as refused:
        ship_connections(_plan(tmp_path, "@memdb.main"), ctx, mirror=str)
    assert refused.value.exit_code == 2
    assert "'@memdb.main' points at 127.0.0.1" in str(refused.value)
    assert "--e2b-allow-local-hosts" in str(refused.value)
    assert ship_connections(
        _plan(tmp_path, "@memdb.main"), ctx, mirror=str, allow_local_hosts=True
    ).connections_yaml


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("172.16.5.4", True),
        ("169.254.1.1", True),
        ("0.0.0.0", True),
        ("mysql", True),
        ("db.internal", True),
        ("printer.local", True),
        ("db.example.com", False),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
    ],
)
def test_which_hosts_a_cloud_sandbox_cannot_reach(host, local):
    assert is_local_host(host) is local
