"""The read-only query policy: what passes, what is rejected, and why."""

import pytest
from osiris.sqlguard import read_only_problem

READ_ONLY = [
    "SELECT 1",
    "select * from movies",
    "SELECT * FROM movies;",
    "SELECT * FROM movies ;  \n",
    "  \n-- a comment first\nSELECT id FROM movies",
    "/* leading */ SELECT id FROM movies",
    "WITH d AS (SELECT director_id FROM movies) SELECT * FROM d",
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5) SELECT x FROM n",
    "(SELECT 1) UNION (SELECT 2)",
    "SELECT 'drop table movies' AS s",
    'SELECT "DELETE" FROM t',
    "SELECT updated_at, created_at, deleted FROM t",
    "SELECT id FROM t WHERE title = 'it''s; DROP TABLE x'",
    "SELECT id FROM t -- ; DROP TABLE x",
    "SELECT id FROM t /* ; DELETE FROM t */",
    "SELECT id FROM t WHERE id = $1",
    "SELECT REPLACE(title, 'a', 'b') FROM movies",
    "SELECT replace (title, 'a', 'b') FROM movies",
    "SELECT INSERT('Quadratic', 3, 4, 'What')",
    "SELECT CAST(title AS CHAR CHARACTER SET utf8mb4) FROM movies",
    "SELECT id FROM settings_table JOIN into_table_x ON 1 = 1",
]

REJECTED = {
    "DROP TABLE movies": "starts with DROP",
    "drop table movies": "starts with DROP",
    "DELETE FROM movies": "starts with DELETE",
    "UPDATE movies SET x = 1": "starts with UPDATE",
    "INSERT INTO t VALUES (1)": "starts with INSERT",
    "SHOW TABLES": "starts with SHOW",
    "": "empty",
    "   ;  ": "empty",
    "-- only a comment": "empty",
    "SELECT 1; DROP TABLE x": "more than one statement",
    "SELECT 1; SELECT 2": "more than one statement",
    "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d": "contains DELETE",
    "WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u": "contains UPDATE",
    "WITH i AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM i": "contains INSERT",
    "SELECT * INTO OUTFILE '/tmp/x' FROM t": "INTO",
    "SELECT * INTO new_table FROM t": "INTO",
    "SELECT * FROM t FOR UPDATE": "FOR UPDATE",
    "SELECT * FROM t FOR NO KEY UPDATE": "FOR UPDATE",
    "SELECT * FROM t FOR SHARE": "FOR SHARE",
    "SELECT * FROM t LOCK IN SHARE MODE": "LOCK IN SHARE MODE",
    "SELECT 1 /*! ; DROP TABLE x */": "more than one statement",
    "SELECT 1 /*!50000 , (SELECT 1 INTO @a) */": "INTO",
    "SELECT 1 /*M! ; DROP TABLE x */": "more than one statement",
    "SELECT 1 /*M!100000 , (SELECT 1 INTO @a) */": "INTO",
    "SELECT 'unterminated": "unterminated",
    "SELECT 1 /* unterminated": "unterminated",
    'SELECT "unterminated': "unterminated",
    # A backslash escapes the quote in MySQL but not in PostgreSQL: PostgreSQL would run the DROP.
    "SELECT 'a\\' ; DROP TABLE x; -- '": "more than one statement",
    # PostgreSQL nests block comments, MySQL does not: MySQL would run the DROP.
    "SELECT 1 /* /* */ ; DROP TABLE x; -- */": "more than one statement",
    # `$$` is an identifier in MySQL, not a quote.
    "SELECT $$ ; DROP TABLE x; $$": "more than one statement",
    # `#` is an operator in PostgreSQL, a comment only in MySQL.
    "SELECT 1 # \n; DROP TABLE x": "more than one statement",
    # MySQL needs a space after `--` for a comment.
    "SELECT 1 --1\n; DROP TABLE x": "more than one statement",
    "SELECT pg_sleep(1); COPY t TO '/tmp/x'": "more than one statement",
    "SELECT * FROM t WHERE EXISTS (SELECT 1) ; CALL p()": "more than one statement",
    "WITH x AS (SELECT 1) DELETE FROM t": "contains DELETE",
    "SELECT 1 FROM t WHERE a IN (SELECT b FROM u) ; TRUNCATE t": "more than one statement",
    "SELECT current_setting('x'), 1 FROM t LOCK": "contains LOCK",
    "SELECT * FROM t; ": None,
}


@pytest.mark.parametrize("query", READ_ONLY)
def test_read_only_queries_pass(query):
    assert read_only_problem(query) is None


@pytest.mark.parametrize(("query", "expected"), [(q, e) for q, e in REJECTED.items() if e])
def test_unsafe_queries_are_rejected_with_a_sentence(query, expected):
    problem = read_only_problem(query)
    assert problem is not None, query
    assert expected in problem
    assert problem.endswith(".")
    assert "\n" not in problem


@pytest.mark.parametrize(
    ("query", "dialect"),
    [
        ("# mysql comment\nSELECT id FROM movies", "mysql"),
        ("SELECT `update` FROM t", "mysql"),
        ("SELECT 'it\\'s' AS s", "mysql"),
        ("SELECT $$ ; drop table x $$ AS s", "postgres"),
        ("SELECT $tag$ insert into t $tag$", "postgres"),
        ("SELECT E'it\\'s' AS s", "postgres"),
    ],
)
def test_dialect_specific_literals_pass_for_their_dialect_only(query, dialect):
    assert read_only_problem(query, dialect=dialect) is None


@pytest.mark.parametrize(
    ("query", "dialect"),
    [
        ("SELECT $$ ; drop table x $$ AS s", "mysql"),  # `$$` is an identifier in MySQL
        ("SELECT `x` FROM t; DELETE FROM t", "postgres"),
        ("# comment\nSELECT 1", "postgres"),  # `#` is an operator in PostgreSQL
    ],
)
def test_dialect_specific_literals_are_not_trusted_by_the_other_dialect(query, dialect):
    assert read_only_problem(query, dialect=dialect) is not None
    assert read_only_problem(query) is not None


def test_unterminated_dollar_quote_is_rejected_for_postgres():
    assert "unterminated" in read_only_problem("SELECT $$ unterminated", dialect="postgres")


def test_nested_comments_are_postgres_only():
    query = "SELECT 1 /* a /* nested */ ; DELETE FROM t */"
    assert read_only_problem(query, dialect="postgres") is None
    assert "more than one statement" in read_only_problem(query, dialect="mysql")


def test_a_literal_unterminated_in_one_server_mode_only_is_judged_by_the_others():
    # With NO_BACKSLASH_ESCAPES MySQL refuses it as a syntax error; otherwise it is one string.
    assert read_only_problem("SELECT 'it\\'s; DROP TABLE x' AS s", dialect="mysql") is None


def test_trailing_semicolon_is_fine():
    assert read_only_problem("SELECT * FROM t; ") is None


@pytest.mark.parametrize(
    "word",
    ["MERGE", "GRANT", "REVOKE", "ALTER", "CREATE", "EXECUTE", "HANDLER", "DO", "SET", "LOAD"],
)
def test_each_side_effect_keyword_is_named(word):
    problem = read_only_problem(f"WITH x AS (SELECT 1) SELECT * FROM x WHERE {word} = 1")
    assert problem == (
        f"The query contains {word}; only a single read-only SELECT (or WITH … SELECT) is allowed."
    )


def test_non_string_is_rejected():
    assert "must be a string" in read_only_problem(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
        "SELECT LOAD_FILE('/etc/passwd')",
        "SELECT sleep (10)",
        "WITH x AS (SELECT lo_export(1, '/tmp/x')) SELECT * FROM x",
    ],
)
def test_functions_acting_on_the_server_are_rejected(query):
    assert "which acts on the server" in read_only_problem(query)


def test_columns_named_like_those_functions_are_fine():
    assert read_only_problem("SELECT sleep, benchmark FROM runs") is None


@pytest.mark.parametrize(
    ("query", "dialect", "expected"),
    [
        ("SELECT * FROM t LIMIT 5", "postgres", True),
        ("SELECT * FROM t OFFSET 5", "postgres", True),
        ("SELECT * FROM t FETCH FIRST 5 ROWS ONLY", "postgres", True),
        ("SELECT * FROM (SELECT * FROM t LIMIT 5) q", "postgres", False),
        ("WITH c AS (SELECT 1 LIMIT 1) SELECT * FROM c", "postgres", False),
        ("SELECT 'LIMIT 5' AS \"limit\" FROM t -- LIMIT 5", "postgres", False),
        ("SELECT $$ LIMIT $$ FROM t", "postgres", False),
        ("SELECT `limit` FROM t # LIMIT 1", "mysql", False),
        ("SELECT a FROM t LIMIT 1", "mysql", True),
    ],
)
def test_top_level_limit(query, dialect, expected):
    from osiris.sqlguard import has_top_level_limit

    assert has_top_level_limit(query, dialect=dialect) is expected


def test_blank_literals_keeps_positions():
    from osiris.sqlguard import blank_literals

    query = "SELECT 'it''s', `a b` FROM t /* c */ -- d\nWHERE x = 1"
    blank = blank_literals(query, mysql=True, backslash=False)
    assert len(blank) == len(query) and blank.index("WHERE") == query.index("WHERE")
    assert "'" not in blank and "`" not in blank
    kept = blank_literals(query, mysql=True, backslash=False, keep_identifiers=True)
    assert "`a b`" in kept and "it" not in kept
