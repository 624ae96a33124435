import datetime as dt
import decimal
import json

import connections_support as support
import pytest
from osiris import discovery
from osiris.connections import load_connections
from osiris.errors import OsirisError

SECRET = support.SECRET

CONFIG = """\
memdb:
  main:
    host: ${HOST:-db1}
    user: ada
    password: ${PW}
  prod:
    host: db1
    user: ada
    password: ${PW}
  prod-eu:
    host: db1
    user: ada
"""


@pytest.fixture
def disc_setup(tmp_path):
    family = support.MemFamily()
    registry = support.make_registry(family)
    path = support.write(tmp_path / "osiris_connections.yaml", CONFIG)

    def resolve(alias="main", **env):
        loaded = load_connections(path, cwd=tmp_path, env={"PW": SECRET, **env})
        return loaded.resolve(f"@memdb.{alias}", registry)

    return family, registry, resolve


def cache_files(tmp_path):
    return sorted((tmp_path / ".osiris" / "discovery" / "memdb").glob("*.json"))


def test_second_call_is_served_from_cache(tmp_path, disc_setup):
    family, registry, resolve = disc_setup
    first = discovery.discover(resolve(), registry, samples=2, base_dir=tmp_path)
    second = discovery.discover(resolve(), registry, samples=2, base_dir=tmp_path)
    assert (first.cached, second.cached) == (False, True)
    assert len(family.discover_calls) == 1
    assert second.result == first.result
    assert second.fingerprint == first.fingerprint and first.fingerprint.startswith("sha256:")
    assert first.path.parent == tmp_path / ".osiris" / "discovery" / "memdb"
    assert first.path.name == f"main-{first.fingerprint[7:23]}.json"
    movies = first.result["tables"][0]
    assert [c["name"] for c in movies["columns"]] == ["id", "title", "note"]
    assert movies["samples"][1] == {"id": 2, "title": "Movie 2 ✨", "note": "seen by ***"}


def test_cache_file_holds_no_secret(tmp_path, disc_setup):
    _, registry, resolve = disc_setup
    discovery.discover(resolve(), registry, base_dir=tmp_path)
    text = cache_files(tmp_path)[0].read_text(encoding="utf-8")
    for form in (SECRET, "p%40ss%3Aw%2Frd%25", "p%40ss%3Aw/rd%25"):
        assert form not in text
    assert "seen by ***" in text


@pytest.mark.parametrize(
    "change",
    ["tables", "samples", "host", "version", "distribution"],
)
def test_any_input_change_invalidates(tmp_path, disc_setup, change):
    family, registry, resolve = disc_setup
    discovery.discover(resolve(), registry, samples=3, base_dir=tmp_path)
    kwargs = {"samples": 3, "base_dir": tmp_path}
    connection = resolve()
    if change == "tables":
        kwargs["tables"] = ["movies"]
    elif change == "samples":
        kwargs["samples"] = 4
    elif change == "host":
        connection = resolve(HOST="db2")
    else:
        options = {"version": "1.2.4"} if change == "version" else {"distribution": "other-dist"}
        registry = support.make_registry(family, **options)
    again = discovery.discover(connection, registry, **kwargs)
    assert not again.cached
    assert len(family.discover_calls) == 2
    assert len(cache_files(tmp_path)) == 1  # the stale entry of this alias is gone


def test_secret_change_keeps_cache_and_refresh_bypasses(tmp_path, disc_setup):
    family, registry, resolve = disc_setup
    discovery.discover(resolve(), registry, base_dir=tmp_path)
    rotated = discovery.discover(resolve(PW="an0ther-secret"), registry, base_dir=tmp_path)
    assert rotated.cached
    refreshed = discovery.discover(resolve(), registry, refresh=True, base_dir=tmp_path)
    assert not refreshed.cached and len(family.discover_calls) == 2


def test_table_order_does_not_change_key_and_aliases_are_separate(tmp_path, disc_setup):
    _, registry, resolve = disc_setup
    a = discovery.discover(resolve(), registry, tables=["movies", "directors"], base_dir=tmp_path)
    b = discovery.discover(resolve(), registry, tables=["directors", "movies"], base_dir=tmp_path)
    assert b.cached and a.fingerprint == b.fingerprint
    discovery.discover(resolve("prod"), registry, base_dir=tmp_path)
    discovery.discover(resolve("prod-eu"), registry, base_dir=tmp_path)
    names = sorted(p.name.rsplit("-", 1)[0] for p in cache_files(tmp_path))
    assert names == ["main", "prod", "prod-eu"]  # writing prod-eu did not remove prod's entry


def test_damaged_or_foreign_cache_file_is_rediscovered(tmp_path, disc_setup):
    family, registry, resolve = disc_setup
    first = discovery.discover(resolve(), registry, base_dir=tmp_path)
    first.path.write_text("{not json", encoding="utf-8")
    assert not discovery.discover(resolve(), registry, base_dir=tmp_path).cached
    first.path.write_text(json.dumps({"fingerprint": "sha256:other", "result": {}}))
    assert not discovery.discover(resolve(), registry, base_dir=tmp_path).cached
    assert len(family.discover_calls) == 3


def test_fingerprint_ignores_secret_fields_and_dsn_passwords(disc_setup):
    _, _, resolve = disc_setup
    connection = resolve()
    base = {"tables": None, "samples": 5, "distribution": "d", "version": "1"}
    one = discovery.fingerprint(connection, ("password",), **base)
    other = resolve(PW="different-pw")
    assert discovery.fingerprint(other, ("password",), **base) == one
    assert discovery.fingerprint(connection, ("password",), **{**base, "samples": 6}) != one


def test_sample_values_of_any_type_become_json(tmp_path):
    class Typed(support.MemFamily):
        def discover(self, connection, *, tables=None, samples=5):
            row = {
                "d": decimal.Decimal("12345678901234567890.123456789"),
                "ts": dt.datetime(2026, 1, 2, 3, 4, 5, 6),
                "b": b"\x00\xff",
                "t": dt.timedelta(hours=-838, seconds=-59, microseconds=-5),
            }
            return {"tables": [{"name": "t", "columns": [], "samples": [row]}]}

    registry = support.make_registry(Typed())
    loaded = load_connections(
        support.write(tmp_path / "c.yaml", "memdb:\n  default: {host: h, user: u}\n"),
        cwd=tmp_path,
        env={},
    )
    found = discovery.discover(loaded.resolve("@memdb", registry), registry, base_dir=tmp_path)
    row = found.result["tables"][0]["samples"][0]
    assert row == {
        "d": "12345678901234567890.123456789",
        "ts": "2026-01-02T03:04:05.000006",
        "b": "base64:AP8=",
        "t": "-838:00:59.000005",
    }


def test_family_failures_are_one_sentence(tmp_path):
    class Broken(support.MemFamily):
        def discover(self, connection, *, tables=None, samples=5):
            raise ConnectionError("server went away")

    class Plain(support.MemFamily):
        def discover(self, connection, *, tables=None, samples=5):
            return super(support.MemFamily, self).discover(connection)

    path = support.write(tmp_path / "c.yaml", "memdb:\n  default: {host: h, user: u}\n")
    for family, expected in (
        (Broken(), "Discovery of @memdb.default failed: ConnectionError: server went away"),
        (Plain(), "does not support discovery"),
    ):
        registry = support.make_registry(family)
        resolved = load_connections(path, cwd=tmp_path, env={}).resolve("@memdb", registry)
        with pytest.raises(OsirisError, match=expected):
            discovery.discover(resolved, registry, base_dir=tmp_path)


def test_sample_data_is_masked_by_value_not_by_field_name(tmp_path):
    class KeyFamily(support.MemFamily):
        secret_fields = ("password", "key")

        def discover(self, connection, *, tables=None, samples=5):
            columns = [
                {"name": "id", "type": "int", "key": "PRI"},
                {"name": "password", "type": "text", "key": ""},
            ]
            rows = [{"id": 1, "password": "$2b$hash-of-user"}, {"id": 2, "password": SECRET}]
            return {"tables": [{"name": "users", "columns": columns, "samples": rows}]}

    registry = support.make_registry(KeyFamily())
    loaded = load_connections(
        support.write(
            tmp_path / "c.yaml", "memdb:\n  default: {host: h, user: u, password: '${PW}'}\n"
        ),
        cwd=tmp_path,
        env={"PW": SECRET},
    )
    found = discovery.discover(loaded.resolve("@memdb", registry), registry, base_dir=tmp_path)
    table = found.result["tables"][0]
    assert table["columns"][0]["key"] == "PRI"
    assert table["samples"] == [
        {"id": 1, "password": "$2b$hash-of-user"},
        {"id": 2, "password": "***"},
    ]
    assert SECRET not in found.path.read_text(encoding="utf-8")
