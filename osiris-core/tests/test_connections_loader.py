import connections_support as support
import pytest
from osiris.connections import load_connections
from osiris.errors import InvalidInputError, RegistryError
from osiris.masking import process_masker

SECRET = support.SECRET

WRAPPED = """\
version: 1
connections:
  memdb:
    main:
      host: ok
      port: 3306
      user: ada
      password: ${MEM_PASSWORD}
    other:
      default: true
      host: ${MEM_HOST:-fallback.local}
      user: lin
"""


@pytest.fixture
def conn_registry():
    return support.make_registry(support.MemFamily())


def test_wrapped_form_with_string_version(tmp_path, conn_registry):
    path = support.write(tmp_path / "c.yaml", WRAPPED.replace("version: 1", 'version: "1.0"'))
    loaded = load_connections(path, cwd=tmp_path, env={"MEM_PASSWORD": SECRET})
    resolved = loaded.resolve("@memdb.main", conn_registry)
    assert resolved.values == {"host": "ok", "port": 3306, "user": "ada", "password": SECRET}
    assert resolved.ref == "@memdb.main"
    assert (resolved.family, resolved.alias) == ("memdb", "main")
    assert SECRET in resolved.secret_values
    assert SECRET not in repr(resolved)


def test_bare_form(tmp_path, conn_registry):
    path = support.write(tmp_path / "c.yaml", "memdb:\n  default:\n    host: h\n    user: u\n")
    resolved = load_connections(path, cwd=tmp_path, env={}).resolve("@memdb", conn_registry)
    assert resolved.alias == "default"
    assert resolved.values == {"host": "h", "user": "u"}


def test_default_flag_wins_and_is_not_passed_to_drivers(tmp_path, conn_registry):
    text = WRAPPED + "    default:\n      host: named-default\n      user: x\n"
    loaded = load_connections(support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={})
    resolved = loaded.resolve("@memdb", conn_registry)
    assert resolved.alias == "other"
    assert resolved.values == {"host": "fallback.local", "user": "lin"}


def test_no_default_lists_aliases(tmp_path, conn_registry):
    text = "memdb:\n  a: {host: h, user: u}\n  b: {host: h, user: u}\n"
    loaded = load_connections(support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={})
    with pytest.raises(InvalidInputError, match="no default alias; its aliases are: a, b"):
        loaded.resolve("@memdb", conn_registry)
    assert loaded.resolve("@memdb.b", conn_registry).alias == "b"


def test_two_defaults_is_an_error(tmp_path, conn_registry):
    text = (
        "memdb:\n  a: {default: true, host: h, user: u}\n  b: {default: true, host: h, user: u}\n"
    )
    loaded = load_connections(support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={})
    with pytest.raises(InvalidInputError, match=r"several aliases as default \(a, b\)"):
        loaded.resolve("@memdb", conn_registry)
    listing = {entry.alias: entry for entry in loaded.list(conn_registry)}
    assert "several aliases as default" in listing["a"].problems[0]


def test_missing_variable_names_variable_alias_and_field(tmp_path, conn_registry):
    path = support.write(tmp_path / "c.yaml", WRAPPED)
    loaded = load_connections(path, cwd=tmp_path, env={"MEM_PASSWORD": ""})
    with pytest.raises(InvalidInputError) as info:
        loaded.resolve("@memdb.main", conn_registry)
    message = str(info.value)
    assert "'@memdb.main' field 'password'" in message
    assert "'MEM_PASSWORD'" in message
    text = "memdb:\n  two:\n    host: ${H1}\n    user: ${U1}\n"
    loaded = load_connections(support.write(tmp_path / "two.yaml", text), cwd=tmp_path, env={})
    with pytest.raises(InvalidInputError) as info:
        loaded.resolve("@memdb.two", conn_registry)
    assert "field 'host' needs the variable 'H1', which is not set. Also unset: 'U1' (field" in (
        str(info.value)
    )
    assert info.value.exit_code == 2


def test_dotenv_next_to_file_then_cwd_and_exported_wins(tmp_path, conn_registry):
    project, work = tmp_path / "project", tmp_path / "work"
    path = support.write(
        project / "c.yaml",
        "memdb:\n  main:\n    host: ${H}\n    user: ${U}\n    database: ${D}\n    password: ${P}\n",
    )
    support.write(project / ".env", "H=from-file-dir\nU=from-file-dir\nP=\n")
    support.write(work / ".env", "H=from-cwd\nD=from-cwd\nP=from-cwd-pw\n")
    loaded = load_connections(path, cwd=work, env={"U": "exported"})
    values = loaded.resolve("@memdb.main", conn_registry).values
    assert values == {
        "host": "from-file-dir",
        "user": "exported",
        "database": "from-cwd",
        "password": "from-cwd-pw",
    }


def test_search_order_explicit_then_osiris_home_then_cwd(tmp_path, conn_registry):
    home, work = tmp_path / "home", tmp_path / "work"
    entry = "memdb:\n  default:\n    host: {}\n    user: u\n"
    support.write(home / "osiris_connections.yaml", entry.format("home"))
    support.write(work / "osiris_connections.yaml", entry.format("cwd"))
    explicit = support.write(tmp_path / "explicit.yaml", entry.format("explicit"))

    def host(path=None, env=None):
        loaded = load_connections(path, cwd=work, env=env or {})
        return loaded.resolve("@memdb", conn_registry).values["host"]

    assert host(explicit, {"OSIRIS_HOME": str(home)}) == "explicit"
    assert host(None, {"OSIRIS_HOME": str(home)}) == "home"
    assert host(None, {}) == "cwd"
    assert host("../explicit.yaml") == "explicit"  # relative to cwd


def test_missing_file_is_fine_until_needed(tmp_path, conn_registry):
    loaded = load_connections(cwd=tmp_path, env={})
    assert loaded.path is None
    assert loaded.list(conn_registry) == []
    with pytest.raises(InvalidInputError, match="No connections file found"):
        loaded.resolve("@memdb.main", conn_registry)
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_connections(tmp_path / "nope.yaml", cwd=tmp_path, env={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("memdb: [1, 2]", "must be a mapping of aliases"),
        ("version: 2\nconnections: {}", "version 2; supported: 1"),
        ("version: 1\nmemdb: {}", "unknown top-level keys: memdb"),
        ("memdb:\n  main: 3\n", "'@memdb.main' .* must be a mapping"),
        ("memdb:\n  main: {default: 'yes', host: h}\n", "'default' must be true or false"),
        ("memdb:\n  bad alias: {host: h}\n", "Alias 'bad alias'"),
        ("memdb: {main: {host: h}\n", "not valid YAML at line"),
        ("- a\n- b\n", "must be a mapping of families"),
    ],
)
def test_malformed_files(tmp_path, text, expected):
    path = support.write(tmp_path / "c.yaml", text)
    with pytest.raises(InvalidInputError, match=expected):
        load_connections(path, cwd=tmp_path, env={})


def test_schema_errors_name_family_alias_and_field_without_secret(tmp_path, conn_registry):
    text = (
        "memdb:\n"
        "  noport: {host: h, user: u, port: notanumber}\n"
        "  nouser: {host: h}\n"
        "  extra: {host: h, user: u, colour: blue}\n"
        "  shortpw: {host: h, user: u, password: abc}\n"
        "  envport: {host: h, user: u, port: '${PORT}', tls: '${TLS}'}\n"
        "  intpw: {host: h, user: u, password: 0123}\n"
    )
    loaded = load_connections(
        support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={"PORT": "3307", "TLS": "true"}
    )
    with pytest.raises(
        InvalidInputError,
        match=r"'@memdb.noport' field 'port' must be of type integer, not string\. Fix",
    ):
        loaded.resolve("@memdb.noport", conn_registry)
    with pytest.raises(
        InvalidInputError, match=r"'@memdb.nouser' is missing the required field 'user'"
    ):
        loaded.resolve("@memdb.nouser", conn_registry)
    with pytest.raises(InvalidInputError, match=r"'@memdb.extra'.*'colour' was unexpected"):
        loaded.resolve("@memdb.extra", conn_registry)
    with pytest.raises(InvalidInputError) as info:
        loaded.resolve("@memdb.shortpw", conn_registry)
    assert "field 'password'" in str(info.value) and "abc" not in str(info.value)
    with pytest.raises(InvalidInputError) as info:
        loaded.resolve("@memdb.intpw", conn_registry)
    assert str(info.value).startswith(
        "Connection '@memdb.intpw' field 'password' must be of type string, not number;"
        " quote the value in the YAML file."
    )
    assert "83" not in str(info.value)
    assert loaded.resolve("@memdb.envport", conn_registry).values["port"] == 3307
    assert loaded.resolve("@memdb.envport", conn_registry).values["tls"] is True


def test_unknown_family_and_alias(tmp_path, conn_registry):
    loaded = load_connections(support.write(tmp_path / "c.yaml", WRAPPED), cwd=tmp_path, env={})
    with pytest.raises(RegistryError, match="Unknown connection family 'nosuch'"):
        loaded.resolve("@nosuch.main", conn_registry)
    with pytest.raises(InvalidInputError, match=r"'@memdb.nope' is not defined.*main, other"):
        loaded.resolve("@memdb.nope", conn_registry)
    with pytest.raises(InvalidInputError, match="expected '@family"):
        loaded.resolve("memdb.main", conn_registry)


def test_resolve_registers_secrets_including_dsn_password(tmp_path, conn_registry):
    encoded = "s3cr%40t%2Fdsn"
    text = (
        "memdb:\n  main:\n    host: h\n    user: u\n    password: ${PW}\n"
        f"    dsn: memdb://u:{encoded}@h:1/db\n"
    )
    loaded = load_connections(
        support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={"PW": SECRET}
    )
    resolved = loaded.resolve("@memdb.main", conn_registry)
    assert {SECRET, encoded, "s3cr@t/dsn", f"memdb://u:{encoded}@h:1/db"} <= set(
        resolved.secret_values
    )
    line = f"pw={SECRET} dsn-pw=s3cr@t/dsn enc={encoded} url=memdb://u:{encoded}@h:1/db"
    masked = process_masker.mask(line)
    assert SECRET not in masked and "s3cr@t/dsn" not in masked and encoded not in masked
    assert masked.count("***") == 4


def test_list_masks_flags_missing_and_never_raises(tmp_path, conn_registry):
    text = WRAPPED + (
        "  ghostdb:\n    x:\n      host: h\n      api_key: ghost-key-123\n"
        "      url: ghost://u:ghostpw@h/db\n"
    )
    loaded = load_connections(support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={})
    listing = {entry.ref: entry for entry in loaded.list(conn_registry)}
    main = listing["@memdb.main"]
    assert main.missing == ["MEM_PASSWORD"] and not main.ok
    assert main.values["password"] == "***"
    other = listing["@memdb.other"]
    assert other.ok and other.is_default and other.values["host"] == "fallback.local"
    assert "default" not in other.values
    assert other.distribution == "memdb-plugin"
    ghost = listing["@ghostdb.x"]
    assert not ghost.family_installed
    assert ghost.values["api_key"] == "***"
    assert ghost.values["url"] == "ghost://u:***@h/db"
    assert "not installed" in ghost.problems[0]

    loaded_ok = load_connections(
        support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={"MEM_PASSWORD": SECRET}
    )
    main = next(e for e in loaded_ok.list(conn_registry) if e.alias == "main")
    assert main.ok and main.values["password"] == "***"
    assert SECRET not in str(main.to_json())


def test_list_reports_bad_syntax_and_bad_family_schema(tmp_path):
    class BadSchema(support.MemFamily):
        schema = {"type": "no-such-type"}

    registry = support.make_registry(BadSchema())
    text = "memdb:\n  a: {host: '${OPEN', user: u}\n  b: {host: h, user: u}\n"
    loaded = load_connections(support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={})
    listing = {entry.alias: entry for entry in loaded.list(registry)}
    assert listing["a"].problems == [
        "Connection '@memdb.a' field 'host': '${OPEN' has no closing '}'."
    ]
    assert "invalid connection schema" in listing["b"].problems[0]
    with pytest.raises(InvalidInputError, match="invalid connection schema"):
        loaded.resolve("@memdb.b", registry)


def test_resolve_registers_values_not_field_names_process_wide(tmp_path, conn_registry):
    path = support.write(tmp_path / "c.yaml", WRAPPED)
    load_connections(path, cwd=tmp_path, env={"MEM_PASSWORD": SECRET}).resolve(
        "@memdb.main", conn_registry
    )
    event = {"dsn": "leak://u:***@h/db", "password": "not-this-one", "key": "PRI"}
    assert process_masker.mask_obj(event) == event
    assert process_masker.mask(f"x {SECRET} y") == "x *** y"


def test_file_that_is_not_utf8_is_invalid_input(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"memdb:\n  main:\n    host: caf\xe9\n")
    with pytest.raises(InvalidInputError) as info:
        load_connections(path, cwd=tmp_path, env={})
    assert str(info.value) == (
        f"Connections file {path} is not UTF-8 text (byte 0xe9 at offset 28). Save it as UTF-8."
    )


def test_duplicate_keys_are_an_error_not_last_wins(tmp_path):
    path = support.write(
        tmp_path / "c.yaml", "memdb:\n  main:\n    host: prod.db\n    user: ada\n    host: dev.db\n"
    )
    with pytest.raises(InvalidInputError) as info:
        load_connections(path, cwd=tmp_path, env={})
    assert str(info.value) == (
        f"Connections file {path} is not valid YAML at line 5: duplicate key 'host'."
    )


def test_merge_keys_may_still_override(tmp_path, conn_registry):
    text = "memdb:\n  base: &b {host: a, user: u}\n  main:\n    <<: *b\n    host: b\n"
    loaded = load_connections(support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={})
    assert loaded.resolve("@memdb.main", conn_registry).values == {"host": "b", "user": "u"}


def test_dates_stay_the_text_written(tmp_path, conn_registry):
    text = "memdb:\n  main:\n    host: ok\n    user: ada\n    password: 2024-01-01\n"
    loaded = load_connections(support.write(tmp_path / "c.yaml", text), cwd=tmp_path, env={})
    resolved = loaded.resolve("@memdb.main", conn_registry)
    assert resolved.values["password"] == "2024-01-01"
    (listing,) = loaded.list(conn_registry)
    assert listing.ok and listing.values["password"] == "***"


def test_every_missing_required_field_is_named_once(tmp_path, conn_registry):
    loaded = load_connections(
        support.write(tmp_path / "c.yaml", "memdb:\n  main:\n    port: 1\n"), cwd=tmp_path, env={}
    )
    (listing,) = loaded.list(conn_registry)
    assert listing.problems == [
        "Connection '@memdb.main' is missing the required field 'host'.",
        "Connection '@memdb.main' is missing the required field 'user'.",
    ]


def test_rules_that_quote_the_schema_speak_the_family_description(tmp_path):
    """A regex or a list of sub-schemas is no message for a user: the description is."""
    from osiris.connections.loader import _schema_problems

    schema = {
        "type": "object",
        "description": "a host, or a socket path",
        "properties": {"port": {"type": "string", "pattern": "^[0-9]+$", "description": "a port"}},
        "anyOf": [{"required": ["host"]}, {"required": ["socket"]}],
    }
    problems = _schema_problems("@x.main", {"port": "33o6"}, schema, [], ())
    assert problems == [
        "Connection '@x.main' needs a host, or a socket path.",
        "Connection '@x.main' field 'port': '33o6' is not a port.",
    ]
