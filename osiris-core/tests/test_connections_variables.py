import pytest
from osiris.connections.variables import Variables, VariableSyntaxError, read_dotenv
from osiris.errors import InvalidInputError


def test_braced_default_escape_and_embedded():
    variables = Variables([{"USER": "ada", "PW": "p@ss:w/rd%"}])
    result = variables.substitute("mysql://${USER}:${PW}@${HOST:-db.local}:3306/x?cost=$$5&raw=$x")
    assert result.text == "mysql://ada:p@ss:w/rd%@db.local:3306/x?cost=$5&raw=$x"
    assert result.missing == []


def test_empty_counts_as_unset_and_later_layers_fill_in():
    variables = Variables([{"A": "", "B": "exported"}, {"A": "from-dotenv", "B": "ignored"}])
    assert variables.substitute("${A}/${B}").text == "from-dotenv/exported"
    assert Variables([{"E": ""}]).substitute("${E:-x}").text == "x"
    assert Variables([{"E": ""}]).substitute("${E}").missing == ["E"]


def test_default_may_be_empty_or_contain_colons():
    variables = Variables([{}])
    assert variables.substitute("[${X:-}]").text == "[]"
    assert variables.substitute("${X:-a:b-c}").text == "a:b-c"


def test_missing_variables_are_reported_not_raised():
    result = Variables([{}]).substitute("${ONE}-${TWO:-2}-${THREE}")
    assert result.missing == ["ONE", "THREE"]
    assert result.text == "${ONE}-2-${THREE}"


@pytest.mark.parametrize("text", ["${}", "${1X}", "${A B}", "${A:x}", "abc ${OPEN"])
def test_bad_syntax(text):
    with pytest.raises(VariableSyntaxError):
        Variables([{}]).substitute(text)


def test_read_dotenv(tmp_path):
    env = tmp_path / ".env"
    env.write_text(
        "# comment\n"
        "PLAIN=p@ss:w/rd%\n"
        "export EXPORTED=yes\n"
        "SPACED = value with spaces # trailing comment\n"
        "HASHED=abc#def\n"
        "SINGLE='keep $literal # here'\n"
        'DOUBLE="line\\nbreak \\"q\\"" # c\n'
        "EMPTY=\n"
        "not a line\n",
        encoding="utf-8",
    )
    assert read_dotenv(env) == {
        "PLAIN": "p@ss:w/rd%",
        "EXPORTED": "yes",
        "SPACED": "value with spaces",
        "HASHED": "abc#def",
        "SINGLE": "keep $literal # here",
        "DOUBLE": 'line\nbreak "q"',
        "EMPTY": "",
    }
    assert read_dotenv(tmp_path / "absent") == {}


def test_read_dotenv_with_byte_order_mark(tmp_path):
    env = tmp_path / ".env"
    env.write_bytes("\ufeffFIRST=1\r\nSECOND=2\r\n".encode())
    assert read_dotenv(env) == {"FIRST": "1", "SECOND": "2"}


def test_read_dotenv_that_is_not_utf8_is_one_sentence(tmp_path):
    env = tmp_path / ".env"
    env.write_bytes(b"FIRST=1\nSECOND=caf\xe9\n")
    with pytest.raises(InvalidInputError) as info:
        read_dotenv(env)
    assert str(info.value) == f"{env} is not UTF-8 text (byte 0xe9 on line 2). Save it as UTF-8."
    assert info.value.exit_code == 2
