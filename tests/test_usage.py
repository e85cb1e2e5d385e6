"""What ``zhclean run`` refuses before any work: values that cannot work, an output that
overlaps the input. One line, exit 2, nothing written."""

from __future__ import annotations

import contextlib
import io
import math
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SEEDS, copy_tree
from tests.flowutil import zhclean_cli
from zhclean.core.params import DEFAULTS, RunParams
from zhclean.flows.cli import main
from zhclean.run import RunError, UsageError, preflight, run_local

NUMERIC = [s for s in RunParams.specs() if s.type in (int, float)]


def _one_line_exit_2(proc: subprocess.CompletedProcess, starts: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"zhclean: {starts}"), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return lines[0]


# -- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option", ["--wait-for-lock=nan", "--shard-mb=nan", "--shard-mb=inf", "--max-doc-mb=nan",
               "--max-doc-mb=inf", "--max-quarantine-fraction=nan", "--workers=1.5"],
)  # fmt: skip
def test_the_command_refuses_bad_numbers_in_one_line(tmp_path, option):
    """The issue's cases, through the installed command: each used to hang (nan seconds
    to wait), end in a traceback (exit 1) or run with the value."""
    proc = zhclean_cli("run", "--input", str(SEEDS), "--output", str(tmp_path / "out"), option)
    _one_line_exit_2(proc, option.split("=")[0])
    assert not (tmp_path / "out").exists()  # refused before anything was created


def _bad_value(spec) -> st.SearchStrategy:
    """Any value the parameter may not take: not finite, or outside its bounds."""
    low, high = spec.bounds.low, spec.bounds.high
    if spec.type is int:
        return st.one_of(st.integers(max_value=int(low) - 1), st.integers(min_value=int(high) + 1))
    below = st.floats(max_value=low, exclude_max=not spec.bounds.above, allow_nan=False)
    return st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf]),
        below,
        st.floats(min_value=high, exclude_min=True),
    )


@st.composite
def bad_options(draw) -> tuple[str, object]:
    spec = draw(st.sampled_from(NUMERIC))
    return spec.flag, draw(_bad_value(spec))


@settings(max_examples=200, deadline=None)
@given(bad_options())
def test_any_bad_number_is_refused_with_one_line_and_exit_2(option):
    """In the command and in the flow's check (both go through RunParams)."""
    flag, value = option
    stderr = io.StringIO()
    # A refused value never reaches the input: were it let through, the run would stop
    # at the missing input with another message, and without starting a Prefect API.
    argv = ["run", "--input", "/nonexistent/zhclean", f"{flag}={value}"]
    env = {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
    with _environ(env), contextlib.redirect_stderr(stderr):
        code = main(argv)
    lines = stderr.getvalue().splitlines()
    assert code == 2 and len(lines) == 1, (argv, stderr.getvalue())
    assert lines[0].startswith(f"zhclean: {flag} must be"), lines
    spec = next(s for s in NUMERIC if s.flag == flag)
    problems = RunParams(**{spec.name: value}).problems()
    assert len(problems) == 1 and problems[0].startswith(f"{flag} must be")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_value_in_range_is_accepted(data):
    spec = data.draw(st.sampled_from(NUMERIC))
    low, high = spec.bounds.low, spec.bounds.high
    if spec.type is int:
        value = data.draw(st.integers(int(low), int(high)))
    else:
        value = data.draw(st.floats(low, high, exclude_min=spec.bounds.above))
    assert RunParams(**{spec.name: value}).problems() == []


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_every_numeric_parameter_has_bounds():
    assert NUMERIC and all(s.bounds is not None for s in NUMERIC)
    assert DEFAULTS.problems() == []


@pytest.mark.usefixtures("prefect_harness")
def test_the_flow_refuses_a_bad_number_as_a_usage_error(tmp_path):
    """A deployment's parameters take the same check: the run ends Failed with the
    one-line reason, and nothing is processed."""
    from tests.flowutil import run_flow

    state = run_flow(SEEDS, tmp_path / "out", shard_mb=math.nan)
    assert state.is_failed()
    assert state.message == (
        "usage_error: --shard-mb must be a finite number above 0 and at most 65536, not nan"
    )


# -- input and output ----------------------------------------------------------------------


def _overlaps(tmp_path: Path) -> list[tuple[str, str, str]]:
    inp = copy_tree(SEEDS, tmp_path / "in")
    (tmp_path / "link").symlink_to(inp)
    return [
        (str(inp), str(inp), "the output is the input folder"),
        (str(inp), str(inp / "out"), "the output"),
        (str(inp), str(inp / "a" / "b" / "out"), "the output"),
        (str(inp / "sub"), str(inp), "the input"),
        (str(inp), str(tmp_path / "link" / "out"), "the output"),  # through a link
        (str(tmp_path / "link"), str(inp), "the output is the input folder"),
        (str(inp), str(tmp_path / "other" / ".." / "in" / "out"), "the output"),  # ..
    ]


def test_overlapping_input_and_output_are_refused(tmp_path):
    for inp, out, message in _overlaps(tmp_path):
        with pytest.raises(UsageError) as err:
            preflight(RunParams(input_dir=inp, output_dir=out))
        assert str(err.value).startswith(message), (inp, out, str(err.value))
        assert str(err.value).endswith("use separate folders for --input and --output")
        assert "\n" not in str(err.value) and err.value.exit_code == 2
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == sorted(
        p.name for p in SEEDS.iterdir()
    )  # nothing was created in the input
    preflight(RunParams(input_dir=str(tmp_path / "in"), output_dir=str(tmp_path / "in2")))


@pytest.mark.parametrize(
    ("inp", "out", "overlap"),
    [("s3://corpus/in", "s3://corpus/in", True), ("s3://corpus/in", "s3://corpus/in/zh", True),
     ("s3://corpus/in/", "s3://corpus//in/", True), ("s3://corpus/in/2026", "s3://corpus/in", True),
     ("s3://corpus/in", "s3://corpus/input", False), ("s3://corpus/in", "s3://other/in", False),
     ("s3://corpus", "s3://corpus/zh", True)],
)  # fmt: skip
def test_object_store_roots_compare_by_bucket_and_prefix(inp, out, overlap):
    from zhclean.run.context import check_no_overlap

    if overlap:
        with pytest.raises(UsageError, match="use separate folders"):
            check_no_overlap(inp, out)
    else:
        check_no_overlap(inp, out)


@pytest.mark.skipif(os.geteuid() != 0, reason="a bind mount needs root")
def test_a_folder_mounted_twice_is_one_folder(tmp_path):
    inp = copy_tree(SEEDS, tmp_path / "in")
    other = tmp_path / "mnt"
    other.mkdir()
    proc = subprocess.run(["mount", "--bind", str(inp), str(other)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {proc.stderr.decode().strip()}")
    try:
        with pytest.raises(UsageError, match=r"the output .*/mnt/out is inside the input"):
            preflight(RunParams(input_dir=str(inp), output_dir=str(other / "out")))
    finally:
        subprocess.run(["umount", "-l", str(other)], check=False)


def test_an_output_inside_the_input_is_refused_before_any_work(tmp_path):
    """The issue's case: the first run used to write _runs/ and _snapshots/ into the
    input, and every later run was blocked by the gate."""
    inp = copy_tree(SEEDS, tmp_path / "in")
    proc = zhclean_cli("run", "--input", str(inp), "--output", str(inp / "out"))
    line = _one_line_exit_2(proc, "the output ")
    assert line.endswith("is inside the input " + str(inp.resolve()) + ": use separate "
                         "folders for --input and --output")  # fmt: skip
    assert not (inp / "out").exists()
    with pytest.raises(RunError, match="inside the output"):  # the flow's own check
        run_local(RunParams(input_dir=str(inp / "sub"), output_dir=str(inp)))
    assert not (inp / "_runs").exists()


# -- what a new user looks at first ---------------------------------------------------------


def test_version_and_usage_line():
    import tomllib

    from tests.conftest import REPO

    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    proc = zhclean_cli("--version")
    assert (proc.returncode, proc.stdout) == (0, f"zhclean {version['version']}\n"), proc.stderr
    usage = zhclean_cli("run", "--help").stdout.split("\n\n")[0]
    assert "--tokenizer {fast,jieba}" in usage, usage


def test_readme_states_every_range():
    from tests.conftest import REPO

    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    for spec in NUMERIC:
        assert f"`{spec.flag}` {spec.bounds.describe()}" in readme, spec.flag


@pytest.mark.usefixtures("prefect_harness")
def test_a_deployment_run_into_its_own_input_writes_nothing_there(tmp_path):
    """The flow refuses the pair too, and its failure report is not written into the
    input (the next run would have read it as a document)."""
    from tests.flowutil import run_flow

    inp = copy_tree(SEEDS, tmp_path / "in")
    before = sorted(p.relative_to(inp) for p in inp.rglob("*"))
    state = run_flow(inp, inp)
    assert state.is_failed()
    assert state.message == (
        f"usage_error: the output is the input folder ({inp.resolve()}): "
        "use separate folders for --input and --output"
    )
    assert sorted(p.relative_to(inp) for p in inp.rglob("*")) == before
