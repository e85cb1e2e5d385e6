"""Expected failures: a run that cannot start or cannot go on, with a one-line reason.

Each carries the run status it ends in and the exit code ``zhclean run`` returns, so an
operator's script can tell "fix the command" from "try later" from "look at the data".
Anything else that goes wrong is a bug or an I/O fault and exits 1 with its traceback.
"""

from __future__ import annotations

# Run status -> exit code of `zhclean run` (README: "Exit codes").
EXIT_CODES = {
    "published": 0,
    "nothing_to_do": 0,
    "failed": 1,
    "failed_dataset_checks": 1,
    "accounting_error": 1,
    "interrupted": 130,  # 143 when the signal was SIGTERM (zhclean.flows.cli._stop_now)
    "usage_error": 2,
    "blocked_by_gate": 3,
    "locked": 4,
}


class RunError(Exception):
    """The run failed for a reason the operator can act on; ``str()`` is one line."""

    status = "failed"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


class UsageError(RunError):
    """The input or output named on the command line cannot be used."""

    status = "usage_error"


class OutputLocked(RunError):
    """Another run holds the output directory."""

    status = "locked"
