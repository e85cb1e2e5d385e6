"""The published contract, re-exported from :mod:`zhclean.contract` (where it lives).

This folder is not installed: it holds the generated, language-neutral contract
(``<dataset>.json``) for readers that do not run Python, and this module for scripts run
from the repository root. Regenerate both with ``python -m zhclean.contract``.
"""

from zhclean.contract import *  # noqa: F403 - a re-export, by design
from zhclean.contract import __all__  # noqa: F401
