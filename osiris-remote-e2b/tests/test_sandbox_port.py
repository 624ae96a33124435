"""The ``Sandbox`` port on the SDK: output arrives in chunks, the port hands out lines."""

from __future__ import annotations

from osiris_remote_e2b.sandbox import open_e2b_sandbox


def test_lines_are_rebuilt_from_chunks(tmp_path, e2b_debug):
    sandbox = open_e2b_sandbox(template=None, timeout_s=60, api_key=None)
    program = (
        "import sys\n"
        "for piece in ['{\"a\": 1', '}\\n{\"b\"', ': 2}\\n\\npart', 'ial-end']:\n"
        "    sys.stdout.write(piece); sys.stdout.flush()\n"
        "sys.stderr.write('warn\\n')\n"
        "sys.exit(3)\n"
    )
    sandbox.upload("osiris/chunks.py", program.encode())
    lines: list[str] = []
    outcome = sandbox.run("python3 osiris/chunks.py", on_line=lines.append)
    assert lines == ['{"a": 1}', '{"b": 2}', "", "partial-end"]
    assert outcome.exit_code == 3 and outcome.stderr == "warn\n"
    assert sandbox.home == str(e2b_debug.envd.home)
    listed = sandbox.list("osiris")
    assert [f.path for f in listed] == [f"{sandbox.home}/osiris/chunks.py"]
    target = tmp_path / "back.py"
    assert sandbox.download("osiris/chunks.py", target) == len(program.encode())
    assert target.read_text() == program
    sandbox.close()
    sandbox.close()  # twice is fine
