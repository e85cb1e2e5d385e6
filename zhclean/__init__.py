"""zhclean: clean, split and tokenize Chinese text corpora (pure functions, no Prefect)."""

from zhclean.splitters.sentences import split_sentences

__version__ = "0.1.0"
__all__ = ["__version__", "split_sentences"]
