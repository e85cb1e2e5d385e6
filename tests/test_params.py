"""Run parameters are defined once (RunParams); the CLI, the flow and prefect.yaml follow.

Every test iterates RunParams' fields, so a parameter added there and forgotten in one of
the three places fails here.
"""

from __future__ import annotations

import inspect

import pytest
import yaml

from tests.conftest import REPO
from zhclean.core.params import DEFAULTS, RunParams
from zhclean.flows.cli import build_parser, params_from_args
from zhclean.flows.etl import etl

SPECS = RunParams.specs()
SAMPLE = {str: "some/dir", float: 0.25, int: 7}


def _sample(spec):
    """A value the parameter may take, other than its default."""
    if spec.choices:
        return spec.choices[-1]
    if spec.name == "dask_address":
        return "tcp://10.0.0.5:8786"
    return SAMPLE[spec.type]


def test_cli_defaults_are_the_run_defaults():
    assert params_from_args(build_parser().parse_args(["run"])) == DEFAULTS


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_parameter_has_a_cli_option(spec):
    if spec.type is bool:
        args = build_parser().parse_args(["run", spec.flag])
        assert getattr(params_from_args(args), spec.name) is True
    else:
        value = _sample(spec)
        args = build_parser().parse_args(["run", spec.flag, str(value)])
        assert getattr(params_from_args(args), spec.name) == value
    assert spec.help


def test_flow_signature_is_the_run_parameters():
    signature = inspect.signature(etl.fn)
    expected = [s.name for s in SPECS if s.flow]
    assert list(signature.parameters) == expected
    for spec in SPECS:
        if spec.flow:
            assert signature.parameters[spec.name].default == spec.default, spec.name
            assert etl.parameters.properties[spec.name]["default"] == spec.default, spec.name
    assert RunParams(**DEFAULTS.flow_kwargs()) == DEFAULTS


def test_deployment_parameters_are_run_parameters_with_their_defaults():
    deployments = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    for deployment in deployments:
        for name, value in deployment["parameters"].items():
            assert name in DEFAULTS.flow_kwargs(), name
            assert value == getattr(DEFAULTS, name), name
        assert RunParams(**deployment["parameters"]).problems() == []


def test_bad_values_are_reported_one_line_each():
    bad = RunParams(max_quarantine_fraction=2, workers=0, shard_mb=0, batch_docs=0,
                    max_sentence_chars=0, wait_for_lock=-1, max_doc_mb=0,
                    tokenizer="spacy", dask_address="localhost", stage_timeout=0,
                    dedup="yes")  # fmt: skip
    problems = bad.problems()
    assert len(problems) == 11 and all("\n" not in p and p.startswith("--") for p in problems)
    assert DEFAULTS.problems() == []
