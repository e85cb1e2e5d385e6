"""The data contract of the published datasets: pandera models (the truth), the Arrow
schemas the writer uses (checked against them), versions, and the row builder."""

from zhclean.contract.arrow import ARROW_SCHEMAS
from zhclean.contract.models import (
    MODELS,
    DocumentsModel,
    QuarantineModel,
    SentencesModel,
    sentence_schema,
)
from zhclean.contract.versions import SCHEMA_VERSIONS

DATASETS = tuple(MODELS)

__all__ = [
    "ARROW_SCHEMAS",
    "DATASETS",
    "MODELS",
    "SCHEMA_VERSIONS",
    "DocumentsModel",
    "QuarantineModel",
    "SentencesModel",
    "sentence_schema",
]
