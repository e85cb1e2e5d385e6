"""The fast tokenizer: jieba-rs (``rjieba``) with the reference's dictionary and results.

jieba-rs runs jieba's algorithm (dictionary DAG, max-probability route, BMES HMM for runs
of single characters) in Rust, about 30 times faster than Python jieba. It differs from
jieba 0.42.1 in four places; each is handled here so the tokens stay the reference's:

1. **Non-Han characters inside a block** (letters and digits with ``+ # & . _ % -``):
   jieba splits ``2022-10-28`` or ``self-esteem`` at ``-`` and ``.`` (finalseg's
   ``[a-zA-Z0-9]+(?:\\.\\d+)?%?``); jieba-rs keeps them whole. Each maximal non-Han run
   is re-split as Python jieba does, unless a dictionary word made of non-Han characters
   (``AT&T``, ``C++``) or a mixed one (``T恤``, ``卡拉OK``) crosses it: then a token by
   token pass keeps dictionary words and re-splits the rest.
2. **Which characters are Han**: jieba-rs also counts CJK Ext. A, U+9FD6–U+9FFF,
   compatibility ideographs and Ext. B–F as Han. A sentence holding one goes to the
   reference tokenizer.
3. **The dictionary total**: Python jieba adds every line of ``dict.txt`` (``B超`` is listed
   twice) and every ``add_word`` frequency to the total, even for a word it already has;
   jieba-rs counts each word once with its last frequency. The total enters every route
   score, so an entry that no text can match (it holds a NUL) carries the difference.
4. **The dictionary itself**: jieba's ``dict.txt`` stays the source. When it is the file
   rjieba embeds (checked by its SHA-256), the embedded copy is used (no load time);
   otherwise ``dict.txt`` is loaded word by word.

What remains is documented in the README (Tokenization): near-ties of the HMM, which
jieba-rs scores with rounded probabilities; ``tests/test_tokenizer_agreement.py`` checks
agreement sentence by sentence.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right
from functools import cache
from itertools import accumulate
from pathlib import Path

import rjieba

from zhclean.tokenizers.common import finish, jieba_dict_path, load_user_dict

# Python jieba's character classes (jieba/__init__.py, 0.42.1).
_HAN = "\u4e00-\u9fd5"
_BLOCK_NON_HAN = r"a-zA-Z0-9+#&\._%\-"
# What can make jieba-rs' tokens differ from Python jieba's inside a block: a run of
# letters and digits alone is one token for both (finalseg keeps [a-zA-Z0-9]+ whole),
# these symbols are where they part (measured: bench/agreement.py's fuzz set).
_NEEDS_FIXUP = re.compile(r"[+#&._%\-]")
# Han for jieba-rs but not for Python jieba: such sentences go to the reference.
_RS_ONLY_HAN = re.compile("[\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_HAS_HAN = re.compile(f"[{_HAN}]")
# Python jieba on non-Han text, as __cut_DAG + finalseg.cut emit it.
_BLOCK_RE = re.compile(f"([{_BLOCK_NON_HAN}]+)")
_FINALSEG_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
_SKIP_DEFAULT = re.compile(r"(\r\n|\s)")
# A maximal run of non-Han characters that holds at least one block character.
_FIXUP_RUN = re.compile(f"[^{_HAN}]*[{_BLOCK_NON_HAN}][^{_HAN}]*")
# Sentences made only of Han, CJK punctuation, ASCII letters and digits and the ASCII
# symbols that are neither a fix-up character, a protected-span trigger (. @ % : /) nor
# whitespace need no fix-up, span or whitespace pass: lcut returns jieba-rs' tokens as they
# are and finish leaves them alone (no span, no space, every character printable).
_PLAIN_SENTENCE = re.compile(
    f"[{_HAN}\u3001-\u3011\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f"
    "\u2014\u2018\u2019\u201c\u201d\u2026\u00b7"
    "0-9A-Za-z!\"$'()*,;<=>?\\[\\]^`{|}~]*"
)

# SHA-256 of jieba 0.42.1's dict.txt, which rjieba 0.2.2 embeds word for word (checked by
# tests/test_tokenizer_agreement.py), and that file's surplus of duplicate lines (the
# frequencies Python jieba's total counts twice).
_EMBEDDED_DICT = {"7197c3211ddd98962b036cdf40324d1ea2bfaa12bd028e68faa70111a88e12a8": 3}
# The dummy entry that carries the difference of totals: a NUL never reaches the DAG.
_TOTAL_ENTRY = "\x00zhclean-total"


def _py_non_han(text: str, out: list[str]) -> None:
    """Python jieba's tokens for ``text``, a run with no Han character and no dictionary word."""
    for blk in _BLOCK_RE.split(text):
        if not blk:
            continue
        if _BLOCK_RE.fullmatch(blk):
            if len(blk) == 1:
                out.append(blk)
            else:  # a buffer of single characters that is not a word: finalseg.cut
                out.extend(x for x in _FINALSEG_SKIP.split(blk) if x)
        else:  # outside blocks: whitespace as is, anything else one character at a time
            for x in _SKIP_DEFAULT.split(blk):
                if not x:
                    continue
                if _SKIP_DEFAULT.fullmatch(x):
                    out.append(x)
                else:
                    out.extend(x)


class FastJieba:
    """jieba-rs with jieba's dictionary, zhclean's user dictionary and Python jieba's total.

    The process-wide ``rjieba`` instance (built when ``rjieba`` is imported) is used when
    ``dict.txt`` is the embedded one, so the dictionary is in memory once.
    """

    def __init__(self, dict_path: Path | None = None, user_dict: str | None = None) -> None:
        dict_path = dict_path or jieba_dict_path()
        data = dict_path.read_bytes()
        surplus = _EMBEDDED_DICT.get(hashlib.sha256(data).hexdigest())
        freqs: dict[str, int] = {}
        if surplus is not None:
            self.jb = rjieba._DEFAULT_JIEBA  # the instance rjieba.cut and rjieba.add_word use
            self.dictionary = "embedded"
        else:  # another dict.txt: load it word by word (about a second)
            self.jb = rjieba.Jieba.empty()
            total = 0
            for line in data.decode("utf-8").splitlines():
                word, freq, *tag = line.split(" ")
                self.jb.add_word(word, int(freq), tag[0] if tag else None)
                freqs[word] = int(freq)
                total += int(freq)
            surplus = total - sum(freqs.values())
            self.dictionary = str(dict_path)
        entries = load_user_dict(user_dict)
        if not freqs:
            freqs = _last_freqs(data.decode("utf-8"), {w for w, *_ in entries})
        for word, freq, tag, _reason in entries:
            # Python adds the new frequency to the total and keeps the old one in it;
            # jieba-rs replaces the old one.
            surplus += freqs.get(word, 0)
            self.jb.add_word(word, freq, tag)
            freqs[word] = freq
        if surplus:
            self.jb.add_word(_TOTAL_ENTRY, surplus, "x")
        self.cut = self.jb.cut
        self.has_word = self.jb.has_word

    def lcut(self, sentence: str) -> list[str]:
        """Python ``jieba.Tokenizer.lcut(sentence)``'s tokens (precise mode, HMM)."""
        tokens = self.cut(sentence)
        if not _NEEDS_FIXUP.search(sentence):
            return tokens
        # For each non-Han run holding a block character: when jieba-rs' tokens start and
        # end on its edges and none inside is a dictionary word, Python jieba's tokens for
        # it are _py_non_han(run); otherwise the per-token pass decides.
        ends = list(accumulate(map(len, tokens)))
        out: list[str] = []
        i = 0  # next token not yet copied to out
        for m in _FIXUP_RUN.finditer(sentence):
            a, b = m.span()
            j = bisect_right(ends, a)  # first token ending after a
            k = bisect_left(ends, b)  # token holding position b-1
            if (
                ends[j] - len(tokens[j]) != a
                or ends[k] != b
                or any(len(t) > 1 and self.has_word(t) for t in tokens[j : k + 1])
            ):
                return self._lcut_tokens(tokens)
            out.extend(tokens[i:j])
            _py_non_han(m.group(), out)
            i = k + 1
        out.extend(tokens[i:])
        return out

    def _lcut_tokens(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        run: list[str] = []
        has_han = _HAS_HAN.search
        for tok in tokens:
            if has_han(tok) or (len(tok) > 1 and self.has_word(tok)):
                if run:
                    _py_non_han("".join(run), out)
                    run = []
                out.append(tok)
            else:
                run.append(tok)
        if run:
            _py_non_han("".join(run), out)
        return out


def _last_freqs(dict_text: str, words: set[str]) -> dict[str, int]:
    """The last frequency ``dict.txt`` gives each of ``words``."""
    text = "\n" + dict_text
    found = {}
    for word in words:
        pos = text.rfind(f"\n{word} ")
        if pos >= 0:
            found[word] = int(text[pos + len(word) + 2 :].split(" ", 1)[0])
    return found


@cache
def get_fast() -> FastJieba:
    """One fast tokenizer per process (0.1 s: the dictionary came with ``import rjieba``)."""
    return FastJieba()


def tokenize(sentence: str) -> list[str]:
    """The reference tokenizer's tokens for ``sentence``, computed with jieba-rs."""
    if _PLAIN_SENTENCE.fullmatch(sentence):  # Han and CJK punctuation only: nothing to fix
        return get_fast().cut(sentence)
    if _RS_ONLY_HAN.search(sentence):
        from zhclean.tokenizers.jieba_tokenizer import tokenize as reference

        return reference(sentence)
    return finish(sentence, get_fast().lcut(sentence))
