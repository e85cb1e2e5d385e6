"""Layer 4, orchestration: the Prefect flow, the ``zhclean`` command and the temporary API.

The only part of zhclean that imports Prefect; everything it runs comes from
:mod:`zhclean.run`.
"""
