"""Traditional → Simplified conversion with OpenCC, recording the original script."""

from __future__ import annotations

from operator import ne

import numpy as np

from zhclean.core.record import Document
from zhclean.core.simplify import converter, to_simplified
from zhclean.core.step import Step

# Share of script-specific characters that must be Traditional (or Simplified) before a
# document counts as one script rather than ``mixed``.
_DOMINANT = 0.9


def _changed_chars(original: str, converted: str) -> int:
    if original == converted:
        return 0
    if len(original) == len(converted):
        if len(original) < 64:
            return sum(map(ne, original, converted))
        # one code point per 4 bytes: compared as arrays, not character by character
        a = np.frombuffer(original.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        b = np.frombuffer(converted.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return int(np.count_nonzero(a != b))
    return len(set(original) - set(converted))


def detect_script(text: str, simplified: str | None = None) -> str:
    """Classify ``text`` as ``hans``, ``hant`` or ``mixed``.

    Counts characters that ``t2s`` would change (Traditional-only) against characters that
    ``s2t`` would change (Simplified-only). Characters shared by both scripts say nothing.
    """
    if simplified is None:
        simplified = to_simplified(text)
    n_trad = _changed_chars(text, simplified)
    if n_trad == 0:
        return "hans"
    n_simp = _changed_chars(text, converter("s2t").convert(text))
    share_trad = n_trad / (n_trad + n_simp)
    if share_trad >= _DOMINANT:
        return "hant"
    if share_trad <= 1 - _DOMINANT:
        return "hans"
    return "mixed"


class ScriptConverter(Step):
    """Record the document's script, then convert its text to Simplified."""

    name = "convert"

    def process(self, doc: Document) -> None:
        simplified = to_simplified(doc.text)
        doc.script = detect_script(doc.text, simplified)
        self.count(f"script.{doc.script}")
        self.count("chars_converted", _changed_chars(doc.text, simplified))
        doc.text = simplified
