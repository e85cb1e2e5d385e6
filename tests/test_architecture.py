"""Layers only point down, and zhclean installs no generic top-level names.

The import contracts live in pyproject.toml ([tool.importlinter]); ``lint-imports`` checks
them. The second test plants a violation in a copy of the package to show the check bites.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path = REPO) -> subprocess.CompletedProcess:
    """lint-imports on the ``zhclean`` package found in ``root`` (it imports from its cwd)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        capture_output=True, text=True, cwd=root, env=env, timeout=300,
    )  # fmt: skip


def test_import_contracts_are_kept():
    proc = _lint()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("probe", "statement", "contract"),
    [
        ("core/_probe.py", "import zhclean.run.plan\n", "Layers"),  # a leaf importing upwards
        ("cleaners/_probe.py", "import zhclean.extractors.metadata\n", "Layers"),  # step -> step
        ("writers/_probe.py", "import prefect\n", "Only the flows layer imports Prefect"),
    ],
)
def test_a_violation_breaks_the_contracts(tmp_path, probe, statement, contract):
    shutil.copytree(
        REPO / "zhclean", tmp_path / "zhclean", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "zhclean" / probe).write_text(statement, encoding="utf-8")
    proc = _lint(tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert "1 broken" in proc.stdout and f"zhclean.{probe[:-3].replace('/', '.')}" in proc.stdout
    assert any(contract in line and "BROKEN" in line for line in proc.stdout.splitlines())


def test_only_zhclean_is_installed_at_the_top_level():
    dist = metadata.distribution("zhclean")
    top = {
        line.strip()
        for line in (dist.read_text("top_level.txt") or "").splitlines()
        if line.strip()
    }
    assert top == {"zhclean"}, top
