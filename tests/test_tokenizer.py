"""Tokenization: protected spans are single tokens, the user dictionary fixes seed mis-cuts.

Every behaviour is checked for both tokenizers: the reference (``--tokenizer jieba``) and
the fast one (jieba-rs, the default). Their agreement sentence by sentence is checked in
``test_tokenizer_agreement.py``.
"""

from __future__ import annotations

import re

import jieba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import seed_text
from zhclean.normalizers.text import normalize_text
from zhclean.splitters.sentences import split_sentences
from zhclean.tokenizers import fast
from zhclean.tokenizers.jieba_tokenizer import get_tokenizer, load_user_dict
from zhclean.tokenizers.jieba_tokenizer import tokenize as reference_tokenize

TOKENIZE = {"jieba": reference_tokenize, "fast": fast.tokenize}
both = pytest.mark.parametrize("tokenize", TOKENIZE.values(), ids=TOKENIZE.keys())


@both
@pytest.mark.parametrize(
    "span",
    ["1.789", "99.7%", "47%", "1．5", "v2.3.1", "v2.0", "3.2.1", "www.gov.cn", "www.example.com.cn",
     "BUSINESS.SOHU.COM", "http://www.example.com.cn/a/b.html?x=1", "someone@example.com.cn"],
)  # fmt: skip
def test_protected_span_is_one_token(span, tokenize):
    tokens = tokenize(f"我们看到{span}这个数")
    assert span in tokens


def test_plain_jieba_breaks_what_we_protect():
    # the reason protected spans exist: bare jieba splits these
    assert len(jieba.lcut("www.gov.cn")) > 1
    assert "v2.3.1" not in jieba.lcut("v2.3.1")


@both
def test_user_dictionary_fixes_seed_miscuts(tokenize):
    line = "我省抓紧兑现30万奖扶对象1.789亿奖扶资金，33915名特扶对象3703万特扶资金。"
    assert line in normalize_text(seed_text("004"))
    tokens = tokenize(line)
    assert tokens.count("奖扶") == 2 and tokens.count("特扶") == 2
    assert "1.789" in tokens and "亿奖" not in tokens and "名特" not in tokens
    assert "孕检" in tokenize("乡村干部包孕检对象、节育手术对象")
    assert "廉洁型" in tokenize("学习型、效能型、服务型、廉洁型“四型”机关")


def test_user_dictionary_entries_have_reasons():
    entries = load_user_dict()
    assert entries
    for word, freq, tag, reason in entries:
        assert word and freq > 0 and tag and len(reason) > 10


def test_dictionary_is_loaded_once_per_process():
    assert get_tokenizer() is get_tokenizer()
    assert fast.get_fast() is fast.get_fast()


@both
def test_tokens_have_no_whitespace_and_rebuild_seed_sentences(tokenize):
    for prefix in ("000", "001", "002", "003", "004"):
        for sentence in split_sentences(seed_text(prefix))[:80]:
            tokens = tokenize(sentence)
            assert all(t and not any(c.isspace() for c in t) for t in tokens)
            assert "".join(tokens) == re.sub(r"\s+", "", sentence)


@both
@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list("我们的计生奖扶资金 1.789%www.gov.cn\u3000\tabc，。😀𠀀-_T恤OK")
        ),
        max_size=60,
    )
)
def test_tokens_concatenate_to_sentence_without_whitespace(tokenize, sentence):
    tokens = tokenize(sentence)
    assert "".join(tokens) == re.sub(r"\s+", "", sentence)
    assert all(t and not any(c.isspace() for c in t) for t in tokens)


@pytest.mark.parametrize("kind", TOKENIZE)
def test_pipeline_tokens_match_the_public_function_and_rebuild_the_text(kind):
    from zhclean.core.params import RunParams
    from zhclean.core.record import Document
    from zhclean.run.pipeline import build_pipeline

    tokenize = TOKENIZE[kind]
    docs = [
        Document(source=p, doc_id="0" * 32, raw_text=seed_text(p))
        for p in ("000", "001", "002", "003", "004")
    ]
    checked = 0
    for doc in build_pipeline(RunParams(tokenizer=kind), validate=False)(docs):
        for sentence in doc.sentences:
            assert sentence.tokens == tokenize(sentence.text)
            assert "".join(sentence.tokens) == re.sub(r"\s+", "", sentence.text)
            checked += 1
    assert checked > 250  # about 300: seed 000 makes whole sentences (punctuation restored)
