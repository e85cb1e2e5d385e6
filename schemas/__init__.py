"""The data contract of zhclean's published datasets (pandera models are the truth)."""

from schemas.arrow import ARROW_SCHEMAS
from schemas.models import MODELS, DocumentsModel, QuarantineModel, SentencesModel
from schemas.versions import SCHEMA_VERSIONS

__all__ = [
    "ARROW_SCHEMAS",
    "MODELS",
    "SCHEMA_VERSIONS",
    "DocumentsModel",
    "QuarantineModel",
    "SentencesModel",
]
