"""OML validation: every error class, with path, line and fix; valid files pass unchanged."""

from __future__ import annotations

from pathlib import Path

import oml_support as support
import pytest
from osiris.oml import OmlValidationError, load_pipeline, parse_document, validate_document
from osiris.oml.yamlload import load_document

EXAMPLES = Path(__file__).parents[2] / "examples" / "pipelines"

HEAD = 'oml_version: "0.1.0"\nname: p\n'


def issues_of(text: str, **kwargs):
    _, issues = validate_document(
        parse_document(text, "p.yaml"), support.registry(), env={}, **kwargs
    )
    return issues


def errors_of(text: str, **kwargs) -> dict[str, str]:
    return {i.path: i.message for i in issues_of(text, **kwargs) if i.severity == "error"}


def extract(step_id="src", query="SELECT 1", extra=""):
    return (
        f"  - id: {step_id}\n    component: mysql.extractor\n    mode: read\n"
        f"    config:\n      connection: '@mysql.default'\n      query: {query}\n{extra}"
    )


def transform(step_id="t", needs=None, query="SELECT * FROM input_df"):
    needs_line = f"    needs: {needs}\n" if needs is not None else ""
    return f"  - id: {step_id}\n    component: duckdb.processor\n    mode: transform\n{needs_line}    config:\n      query: {query}\n"


def writer(step_id="w", needs=None, extra=""):
    needs_line = f"    needs: {needs}\n" if needs is not None else ""
    return (
        f"  - id: {step_id}\n    component: supabase.writer\n    mode: write\n{needs_line}"
        f"    config:\n      connection: '@supabase.main'\n      table: out\n{extra}"
    )


def pipeline(*steps: str) -> str:
    return HEAD + "steps:\n" + "".join(steps)


# -- valid files --------------------------------------------------------------------------


def test_keboola_style_example_validates_unchanged():
    p = load_pipeline(EXAMPLES / "mysql_duckdb_supabase.yaml", support.registry(), env={})
    assert [s.id for s in p.steps] == ["extract-movies", "director-stats", "write-director-stats"]
    assert [s.needs for s in p.steps] == [(), ("extract-movies",), ("director-stats",)]
    assert [s.spec_mode for s in p.steps] == ["extract", "transform", "write"]
    assert p.steps[0].connection == "@mysql.default"
    assert p.warnings == []


def test_legacy_osiris_file_with_typed_params_profiles_and_at_default(tmp_path):
    text = HEAD + (
        "params:\n  batch_size:\n    type: integer\n    default: 1000\n    description: rows per batch\n"
        "profiles:\n  dev:\n    params:\n      batch_size: 100\n"
        "steps:\n"
        "  - id: extract-users\n    component: mysql.extractor\n    mode: read\n"
        "    config:\n      query: SELECT id FROM users\n      connection: '@default'\n"
        "  - id: write-users\n    component: supabase.writer\n    mode: write\n"
        '    needs: ["extract-users"]\n    config:\n      table: users\n      write_mode: append\n'
        "      batch_size: ${params.batch_size}\n"
    )
    path = support.write(tmp_path, text)
    p = load_pipeline(path, support.registry(), env={}, profile="dev")
    assert p.steps[1].config["batch_size"] == 100
    assert p.steps[0].config["connection"] == "@mysql"
    assert p.steps[1].config["connection"] == "@supabase"  # no connection: the family default
    assert [w.message for w in p.warnings] == [
        "'@default' is read as '@mysql', the default mysql connection",
        "no connection given: using '@supabase', the default supabase connection",
    ]


def test_step_name_is_accepted_as_id():
    text = pipeline(
        "  - name: only\n    component: duckdb.processor\n    mode: transform\n    needs: []\n    config: {query: SELECT 1}\n"
    )
    assert errors_of(text) == {}


# -- malformed YAML -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message", "line"),
    [
        (b"", "the file is empty", 1),
        (b"   \n\n", "the file is empty", 1),
        (b"# just a comment\n", "only comments", 1),
        (b"- a\n- b\n", "must be a mapping", 1),
        (b"just text\n", "found a single value", 1),
        (b'oml_version: "0.1.0"\nsteps:\n\t- id: x\n', "tab character", 3),
        (
            b'oml_version: "0.1.0"\nname: a\nname: b\n',
            "duplicate key 'name' (first written at line 2)",
            3,
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8", 1),
        (b"name: \x00\x01\x02", "control character", 1),
        (b"steps: [a, b\nname: x\n", "invalid YAML", 2),
        (b"a: &x [*x]\n", "alias refers to itself", 1),
    ],
)
def test_malformed_yaml_gives_one_error_with_position(tmp_path, raw, message, line):
    path = tmp_path / "bad.yaml"
    path.write_bytes(raw)
    with pytest.raises(OmlValidationError) as info:
        load_document(path)
    (issue,) = info.value.issues
    assert message in issue.message
    assert issue.line == line and issue.column >= 1
    assert issue.fix
    assert f"{path}:{line}:" in issue.format(str(path))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(OmlValidationError, match="does not exist"):
        load_document(tmp_path / "nope.yaml")
    with pytest.raises(OmlValidationError, match="directory"):
        load_document(tmp_path)


def test_yaml_keeps_dates_and_key_names_as_written():
    doc = parse_document("on: 2024-01-01\nyes: no\n")
    assert doc.data == {"on": "2024-01-01", "yes": False}


# -- top level ----------------------------------------------------------------------------


def test_required_keys_are_all_reported():
    messages = {i.message for i in issues_of("description: nothing else\n")}
    assert messages == {
        "required key 'oml_version' is missing",
        "required key 'name' is missing",
        "required key 'steps' is missing",
    }


def test_wrong_oml_version():
    issues = issues_of("oml_version: 0.2\nname: p\nsteps:\n" + transform(needs="[]"))
    (issue,) = [i for i in issues if i.path == "oml_version"]
    assert 'must be "0.1.0", got 0.2' in issue.message
    assert issue.line == 1


@pytest.mark.parametrize(
    ("key", "fix"),
    [
        ("version", "oml_version"),
        ("connectors", "osiris_connections.yaml"),
        ("tasks", "steps:"),
        ("outputs", "mode: write"),
    ],
)
def test_forbidden_top_level_keys_say_what_to_use(key, fix):
    issues = issues_of(HEAD + f"{key}: x\nsteps:\n" + transform(needs="[]"))
    (issue,) = [i for i in issues if i.path == key]
    assert "not an OML v0.1.0 key" in issue.message
    assert fix in issue.fix


def test_unknown_top_level_key_suggests_the_close_one():
    issues = issues_of(HEAD + "paramz: {}\nsteps:\n" + transform(needs="[]"))
    (issue,) = [i for i in issues if i.path == "paramz"]
    assert issue.message == "unknown top-level key 'paramz'"
    assert issue.fix.startswith("did you mean 'params'?")
    assert issue.line == 3


def test_steps_must_be_a_non_empty_list():
    assert errors_of(HEAD + "steps: []\n") == {"steps": "steps must be a non-empty list"}
    assert errors_of(HEAD + "steps: {a: 1}\n") == {"steps": "steps must be a non-empty list"}


# -- steps --------------------------------------------------------------------------------


def test_many_problems_are_reported_at_once_with_paths_and_lines():
    text = pipeline(
        "  - id: a\n    component: mysql.extractor\n    mode: extract\n    config: {query: SELECT 1, conection: x}\n",
        "  - id: a\n    component: nope.thing\n    mode: read\n",
        "  - component: duckdb.processor\n    mode: transform\n    needs: [ghost]\n    config: {query: SELECT 1}\n",
        "  - id: 'bad/id'\n    component: duckdb.processor\n    mode: write\n    colour: red\n",
    )
    issues = issues_of(text)
    got = {(i.path, i.message) for i in issues}
    assert (
        "steps[0].mode",
        "mode must be read, write or transform, got 'extract' (OML calls it read)",
    ) in got
    assert ("steps[0].config.conection", "unknown field 'conection' for mysql.extractor") in got
    assert ("steps[1].id", "duplicate step id 'a' (also steps[0])") in got
    assert (
        "steps[1].component",
        "Unknown component 'nope.thing'. Installed: duckdb.processor, mysql.extractor, supabase.writer",
    ) in got
    assert ("steps[2]", "the step has no id") in got
    assert ("steps[3].id", "step id 'bad/id' is not valid") in got
    assert (
        "steps[3].mode",
        "component 'duckdb.processor' does not support mode 'write'; it supports: transform",
    ) in got
    assert ("steps[3].colour", "unknown step key 'colour'") in got
    assert all(i.line is not None and i.fix for i in issues)
    conection = next(i for i in issues if i.path == "steps[0].config.conection")
    assert (
        conection.line == 7 and "did you mean 'connection'?" not in conection.fix
    )  # not a property
    unknown = next(i for i in issues if i.path == "steps[1].component")
    assert (
        unknown.fix
        == "Install the plugin that provides it; `osiris plugins` lists what is installed."
    )


def test_unknown_first_party_component_names_the_package():
    text = pipeline(
        "  - id: r\n    component: filesystem.csv_extractor\n    mode: read\n    config: {path: a.csv}\n"
    )
    (issue,) = [i for i in issues_of(text) if i.path == "steps[0].component"]
    assert "osiris-driver-filesystem" in issue.fix  # "pip install" it, or why it is not loaded


def test_missing_component_and_mode():
    issues = issues_of(pipeline("  - id: x\n    config: {}\n"))
    assert [(i.path, i.message) for i in issues] == [
        ("steps[0]", "the step has no component"),
        ("steps[0]", "the step has no mode"),
    ]


def test_inputs_key_points_to_needs():
    issues = issues_of(
        pipeline(
            extract(), transform(needs="[src]").replace("    needs", "    inputs: [src]\n    needs")
        )
    )
    (issue,) = [i for i in issues if i.path == "steps[1].inputs"]
    assert "needs" in issue.fix


def test_config_errors_carry_the_config_path():
    text = pipeline(
        extract(extra="      limit: 0\n      columns: [1]\n"),
        writer(needs="[src]", extra="      write_mode: merge\n"),
    )
    errors = errors_of(text)
    assert errors["steps[0].config.limit"] == "0 is less than the minimum of 1"
    assert errors["steps[0].config.columns[0]"] == "1 is not of type 'string'"
    assert errors["steps[1].config.write_mode"].startswith("'merge' is not one of")


def test_required_config_field_is_reported_at_its_path():
    text = pipeline(extract(), writer(needs="[src]").replace("      table: out\n", ""))
    issues = issues_of(text)
    (issue,) = [i for i in issues if i.path == "steps[1].config.table"]
    assert issue.message == "required field 'table' is missing"


def test_connection_fields_are_required_without_a_connection():
    text = pipeline(
        "  - id: src\n    component: mysql.extractor\n    mode: read\n    config: {query: SELECT 1}\n"
    )
    errors = errors_of(text)
    assert {p for p in errors} == {
        f"steps[0].config.{f}" for f in ("host", "database", "user", "password")
    }


# -- needs, implicit dependencies, cycles -------------------------------------------------


def test_implicit_needs_use_nearest_data_producing_step_with_a_warning(tmp_path):
    text = pipeline(extract("a"), extract("b"), writer("w1"), transform("t"), writer("w2"))
    p = load_pipeline(support.write(tmp_path, text), support.registry(), env={})
    assert {s.id: s.needs for s in p.steps} == {
        "a": (),
        "b": (),
        "w1": ("b",),
        "t": ("b",),
        "w2": ("t",),
    }
    warnings = {w.path: w for w in p.warnings}
    assert set(warnings) == {"steps[2]", "steps[3]", "steps[4]"}
    assert (
        warnings["steps[2]"].message
        == "needs is implicit: 'w1' depends on 'b', the nearest preceding step that produces data"
    )
    assert warnings["steps[2]"].fix == "add needs: [b] to make it explicit"


def test_writer_without_any_input_is_an_error():
    assert errors_of(pipeline(writer("w"))) == {
        "steps[0]": "write step 'w' has no input: no step before it produces data"
    }
    assert errors_of(pipeline(extract(), writer("w", needs="[]"))) == {
        "steps[1].needs": "write step 'w' has no input"
    }


def test_needs_references_are_checked():
    errors = errors_of(
        pipeline(extract("src"), transform("t", needs="[srcc, t]"), writer("w", needs="src"))
    )
    assert errors["steps[1].needs[0]"] == "needs unknown step 'srcc'"
    assert errors["steps[1].needs[1]"] == "step 't' needs itself"
    assert errors["steps[2].needs"] == "needs must be a list of step ids"
    fix = next(
        i.fix
        for i in issues_of(pipeline(extract("src"), transform("t", needs="[srcc]")))
        if i.path == "steps[1].needs[0]"
    )
    assert fix.startswith("did you mean 'src'?")


def test_cycles_are_spelled_out():
    text = pipeline(
        transform("a", needs="[c]"),
        transform("b", needs="[a]"),
        transform("c", needs="[b]"),
        transform("d", needs="[d2]"),
        transform("d2", needs="[d]"),
    )
    errors = [i for i in issues_of(text) if "cycle" in i.message]
    assert [(i.path, i.message) for i in errors] == [
        ("steps[0].needs", "steps form a cycle: a -> b -> c -> a"),
        ("steps[3].needs", "steps form a cycle: d -> d2 -> d"),
    ]


def test_ordering_is_topological_with_declaration_order_ties(tmp_path):
    text = pipeline(
        transform("late", needs="[x, y]"), extract("y"), extract("x"), transform("mid", needs="[y]")
    )
    p = load_pipeline(support.write(tmp_path, text), support.registry(), env={})
    assert [s.id for s in p.ordered_steps()] == ["y", "x", "late", "mid"]


def test_step_ids_differing_only_by_case_collide():
    errors = errors_of(pipeline(extract("Src"), extract("src"), transform("t", needs="[src]")))
    assert errors["steps[1].id"] == "step id 'src' differs from 'Src' (steps[0]) only by case"


def test_a_case_twin_before_an_implicit_need_is_an_error_not_a_crash():
    errors = errors_of(pipeline(extract("a"), extract("A"), transform("t")))
    assert errors["steps[1].id"] == "step id 'A' differs from 'a' (steps[0]) only by case"


def test_needs_that_become_one_input_table_name_collide():
    errors = errors_of(
        pipeline(extract("read-a"), extract("read.a"), transform("t", needs="[read-a, read.a]"))
    )
    assert errors["steps[2].needs"] == (
        "'read-a' and 'read.a' would both be the input table df_read_a"
    )


# -- connections and secrets --------------------------------------------------------------


@pytest.mark.parametrize(
    "ref", ["mysql.default", "@", "@my sql", "@mysql.default.x", "${MYSQL}", "42"]
)
def test_connection_reference_syntax(ref):
    text = pipeline(extract().replace("'@mysql.default'", repr(ref) if ref != "42" else "42"))
    errors = errors_of(text)
    assert errors["steps[0].config.connection"].startswith(
        "connection must be a reference like '@mysql.default'"
    )


def test_connection_family_must_be_installed():
    errors = errors_of(pipeline(extract().replace("@mysql.default", "@oracle.prod")))
    assert (
        errors["steps[0].config.connection"]
        == "Unknown connection family 'oracle'. Installed: mysql, supabase"
    )


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("      password: hunter2\n", "steps[0].config.password"),
        ("      api_key: abc\n", "steps[0].config.api_key"),
        (
            "      options: {service_role_key: eyJhbGciOi}\n",
            "steps[0].config.options.service_role_key",
        ),
        ("      dsn: mysql://u:p@h/db\n", "steps[0].config.dsn"),
        ("      token: 12345\n", "steps[0].config.token"),
        ("      client-secret: s3cr3tvalue\n", "steps[0].config.client-secret"),
    ],
)
def test_literal_secrets_are_errors_that_never_echo_the_value(extra, path):
    issues = issues_of(pipeline(extract(extra=extra)))
    (issue,) = [i for i in issues if i.path == path and "literal secret" in i.message]
    assert "osiris_connections.yaml" in issue.fix
    value = extra.split(":", 1)[1].strip().strip("{}").split(":")[-1].strip()
    assert all(value not in (i.message + i.fix) for i in issues)


def test_spec_secret_pointers_are_checked_and_similar_names_are_not():
    text = pipeline(
        extract(),
        writer(needs="[src]", extra="      options: {key: abc}\n      primary_key: [id]\n"),
    )
    errors = errors_of(text)
    assert "secret" in errors["steps[1].config.options.key"]
    assert "steps[1].config.primary_key" not in errors


def test_empty_secret_fields_pass_but_substituted_literal_secrets_do_not():
    assert errors_of(pipeline(extract(extra="      password: ''\n"))) == {}
    text = (
        HEAD + "params: {pw: hunter2}\nsteps:\n" + extract(extra="      password: ${params.pw}\n")
    )
    issues = issues_of(text)
    assert any(
        i.path == "steps[0].config.password" and "literal secret" in i.message for i in issues
    )
    assert all("hunter2" not in i.message for i in issues)


# -- read-only queries --------------------------------------------------------------------


def test_extractor_query_must_be_read_only():
    errors = errors_of(pipeline(extract(query="DROP TABLE movies")))
    assert errors["steps[0].config.query"] == (
        "The query starts with DROP; only a single read-only SELECT (or WITH … SELECT) is allowed"
    )
    errors = errors_of(pipeline(extract(query="'SELECT 1; DELETE FROM t'")))
    assert "more than one statement" in errors["steps[0].config.query"]
    assert errors_of(pipeline(extract(query="\"SELECT 'drop table x', updated_at FROM t\""))) == {}


def test_transform_queries_are_not_subject_to_the_extractor_policy():
    assert errors_of(pipeline(extract(), transform(query="'CREATE TABLE x AS SELECT 1'"))) == {}


# -- params and profiles ------------------------------------------------------------------

PARAMS = HEAD + (
    "params:\n  limit: 10\n  table: {default: movies, description: source}\n  flag: {default: false}\n  required_one: {description: no default}\n"
    "profiles:\n  prod: {params: {limit: 1000, table: prod_movies}}\n  flat: {limit: 7}\n"
    "steps:\n"
)
STEP = extract(
    query="'SELECT * FROM ${params.table} LIMIT ${params.limit}'",
    extra="      limit: ${params.limit}\n",
)


def _config(text, **kwargs):
    p, issues = validate_document(parse_document(text), support.registry(), **kwargs)
    assert p is not None, [i.format() for i in issues]
    return p.steps[0].config, p.params


def test_param_defaults_and_typed_whole_value_substitution():
    config, params = _config(PARAMS + STEP, env={})
    assert config["query"] == "SELECT * FROM movies LIMIT 10"
    assert config["limit"] == 10
    assert params == {"limit": 10, "table": "movies", "flag": False}


def test_param_precedence_cli_over_env_over_profile_over_default():
    env = {"OSIRIS_PARAM_LIMIT": "50", "OSIRIS_PARAM_TABLE": "env_movies"}
    config, _ = _config(PARAMS + STEP, env=env, profile="prod", params={"limit": "5"})
    assert (config["limit"], config["query"]) == (5, "SELECT * FROM env_movies LIMIT 5")
    config, _ = _config(PARAMS + STEP, env=env, profile="prod")
    assert config["limit"] == 50
    config, _ = _config(PARAMS + STEP, env={}, profile="prod")
    assert (config["limit"], config["query"]) == (1000, "SELECT * FROM prod_movies LIMIT 1000")
    config, _ = _config(PARAMS + STEP, env={}, profile="flat")
    assert config["limit"] == 7


def test_undefined_param_is_named():
    text = HEAD + "steps:\n" + extract(query="'SELECT * FROM ${params.tabel}'")
    (issue,) = [i for i in issues_of(text) if "tabel" in i.message]
    assert (issue.path, issue.message) == ("steps[0].config.query", "undefined parameter 'tabel'")
    assert "--param tabel=VALUE" in issue.fix and "OSIRIS_PARAM_TABEL" in issue.fix


def test_declared_param_without_default_is_undefined_until_given():
    text = PARAMS + extract(query="'SELECT ${params.required_one}'")
    assert "undefined parameter 'required_one'" in errors_of(text).values()
    config, _ = _config(text, env={"OSIRIS_PARAM_REQUIRED_ONE": "7"})
    assert config["query"] == "SELECT 7"


def test_bad_param_values_and_unknown_profile():
    errors = errors_of(PARAMS + STEP, params={"limit": "ten", "flag": "maybe"}, profile="staging")
    assert (
        errors["params.limit"] == "--param limit must be an integer like its default 10, got 'ten'"
    )
    assert errors["params.flag"].startswith("--param flag must be a boolean")
    assert errors["profiles"] == "unknown profile 'staging'; defined: flat, prod"


def test_secret_looking_params_are_errors_because_meta_json_records_params():
    text = HEAD + "params: {db_password: hunter2, limit: 5}\nsteps:\n" + extract()
    issues = [i for i in issues_of(text) if i.severity == "error"]
    assert [(i.path, i.message) for i in issues] == [
        (
            "params.db_password",
            "parameter 'db_password' looks like a secret; parameter values are written to meta.json",
        )
    ]
    assert errors_of(HEAD + "steps:\n" + extract(), params={"api_token": "abc"})["params.api_token"]


def test_profile_with_params_and_other_keys():
    text = PARAMS.replace(
        "  flat: {limit: 7}\n",
        "  flat: {limit: 7}\n  doc: {description: documented, params: {limit: 3}}\n",
    )
    config, _ = _config(text + STEP, env={}, profile="doc")
    assert config["limit"] == 3


def test_issues_outside_any_written_key_have_no_position():
    (issue,) = [
        i
        for i in issues_of(HEAD + "steps:\n" + extract(), params={"bad name": "1"})
        if i.severity == "error"
    ]
    assert (issue.path, issue.line, issue.column) == ("params", None, None)
    assert issue.format("p.yaml").startswith(
        "p.yaml: error: params: --param name 'bad name' is not a valid"
    )


def test_long_values_are_shortened_in_messages():
    long_value = "x" * 300
    errors = errors_of(pipeline(extract(extra=f"      limit: {long_value}\n")))
    message = errors["steps[0].config.limit"]
    assert message == "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is not of type 'integer'"


def test_yaml_merge_keys_may_be_overridden_but_written_keys_not_repeated():
    text = "base: &b {a: 1, b: 2}\nother: &o {b: 3, c: 4}\nx:\n  <<: [*b, *o]\n  a: 9\nz:\n  a: 1\n  <<: *b\n"
    data = parse_document(text).data
    assert data["x"] == {"a": 9, "b": 2, "c": 4}
    assert data["z"] == {"a": 1, "b": 2}
    with pytest.raises(OmlValidationError, match="duplicate key 'b'"):
        parse_document("x:\n  <<: {a: 1}\n  b: 1\n  b: 2\n")


def test_a_single_error_carries_its_fix_into_the_one_line_message():
    from osiris.oml.issues import Issue

    typo = Issue(
        "steps[0].component",
        "Unknown component 'mysql.extractr'",
        "Did you mean 'mysql.extractor'?",
    )
    assert OmlValidationError("p.yaml", [typo]).hint == "Did you mean 'mysql.extractor'?"
    assert str(OmlValidationError("p.yaml", [typo])).endswith(
        "Unknown component 'mysql.extractr'. Did you mean 'mysql.extractor'?"
    )
    other = Issue("steps[1].config.tabel", "Unknown field 'tabel'", "Did you mean 'table'?")
    assert OmlValidationError("p.yaml", [typo, other]).hint == (
        "Run `osiris oml validate p.yaml` for the full list with fixes."
    )
