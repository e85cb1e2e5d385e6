"""Deployment entrypoint (``prefect.yaml``: ``flows/etl.py:etl``).

The flow lives in the installed package, ``zhclean.flows.etl``, so that the ``zhclean``
command and a Prefect worker run the very same code; this folder is not installed.
"""

from zhclean.flows.etl import etl

__all__ = ["etl"]
