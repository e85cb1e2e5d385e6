"""Documentation that must match the code."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(python3 -m venv .+?)\n```", text)


def test_readme_has_the_two_setup_commands():
    run, test = _readme_commands()[:2]
    assert run.endswith("zhclean run") and "-c requirements.lock" in run
    assert test.endswith("python -m pytest") and ".[test]" in test


def test_ci_runs_the_readme_test_command():
    test = _readme_commands()[1]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci


def test_readme_lists_every_cli_option():
    from zhclean.core.params import RunParams

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for spec in RunParams.specs():
        assert spec.flag in readme, spec.flag


def test_lock_pins_the_server_traps():
    lock = (REPO / "requirements.lock").read_text(encoding="utf-8").lower()
    assert "fastapi==0.150.0" in lock and "sqlalchemy==2.0.58" in lock and "prefect==3.8.8" in lock


def test_readme_lists_every_exit_code():
    from zhclean.run import EXIT_CODES

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = {
        int(cells[1]): cells[2]
        for line in readme.splitlines()
        if line.startswith("| ")
        and (cells := [c.strip() for c in line.split("|")])[1].isdigit()
        and cells[2].startswith("`")  # the exit-code table's rows name a status
    }
    for status, code in EXIT_CODES.items():
        assert f"`{status}`" in rows.get(code, ""), (status, code)
