"""Transient I/O errors are retried with backoff; other errors fail at once."""

from __future__ import annotations

import pytest
from prefect import flow, task

from zhclean.flows.etl import IO_RETRIES, process_task, publish_task, scan_task

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_every_io_task_uses_the_retry_policy():
    for t in (scan_task, process_task, publish_task):
        assert t.retries == 2
        assert t.retry_delay_seconds == [2, 4]  # exponential backoff
        assert t.retry_condition_fn is IO_RETRIES["retry_condition_fn"]


def test_oserror_is_retried_and_other_errors_are_not(tmp_path):
    attempts = tmp_path / "attempts"
    fast = {**IO_RETRIES, "retry_delay_seconds": 0}

    @task(**fast)
    def flaky_read() -> str:
        n = int(attempts.read_text()) if attempts.exists() else 0
        attempts.write_text(str(n + 1))
        if n == 0:
            raise OSError("input volume busy")
        return "read"

    bad_attempts = tmp_path / "bad_attempts"

    @task(**fast)
    def bad_data() -> None:
        bad_attempts.write_text(bad_attempts.read_text() + "x" if bad_attempts.exists() else "x")
        raise ValueError("not an I/O problem")

    @flow
    def both():
        return flaky_read(), bad_data(return_state=True)

    value, state = both()
    assert value == "read" and attempts.read_text() == "2"
    assert state.is_failed() and bad_attempts.read_text() == "x"  # one attempt, no retry


def test_permanent_io_errors_are_not_retried(tmp_path):
    attempts = tmp_path / "attempts"

    @task(**{**IO_RETRIES, "retry_delay_seconds": 0})
    def read_missing() -> None:
        attempts.write_text(attempts.read_text() + "x" if attempts.exists() else "x")
        (tmp_path / "no-such-input").read_text()  # FileNotFoundError: no retry will fix it

    @flow
    def one() -> bool:
        return read_missing(return_state=True).is_failed()

    assert one() and attempts.read_text() == "x"
