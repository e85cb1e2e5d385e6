"""Build the punctuated corpus the restoration model learns from and is scored on.

    python -m train.punct_corpus [--src /work/data/punct/src] [--out /work/data/punct/corpus.jsonl]

Real Chinese text with its punctuation, one JSON document per line: ``source``, ``genre``,
``doc`` (an id), ``split`` (``train`` or ``heldout``) and ``text``. Nothing of it goes
into the repository: the files stay where ``--src`` says, fetched from these public
GitHub repositories (path @ commit), or given to the project:

| source | genre | repository, file @ commit | split |
|---|---|---|---|
| ``clue`` | mixed web: news, forum, reviews, Q&A | ``shared/evaldata/zh-text/clue-sample-dev.txt`` (first 1,250 lines of UER-py's CLUECorpusSmall sample; the project's copy) | documents 0-999 train, 1000-1249 held out |
| ``thucnews`` | news (Sina, THUCNews) | ``qianshuang/dl-exp`` ``data/cnews/cnews.val.txt`` @ 0ff7afa | train |
| ``cec`` | news (emergency reports) | ``shijiebei2009/CEC-Corpus`` ``raw corpus/allSourceText/*.txt`` @ 3779039 | held out (whole source) |
| ``hotel`` | reviews (ChnSentiCorp hotels) | ``SophonPlus/ChineseNlpCorpus`` ``datasets/ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv`` @ a0b781d | held out (whole source, 500 sampled) |
| ``waimai`` | reviews (food delivery) | same repository, ``datasets/waimai_10k/waimai_10k.csv`` | train (3,000 sampled) |
| ``shopping`` | reviews (online shopping) | same repository, ``datasets/online_shopping_10_cats/online_shopping_10_cats.zip`` | train (8,000 sampled) |
| ``eprstmt`` | reviews (e-commerce) | ``CLUEbenchmark/FewCLUE`` ``datasets/eprstmt/unlabeled.json`` @ 62a02c6 | train (3,000 sampled) |
| ``iflytek`` | app descriptions (web pages) | same repository, ``datasets/iflytek/{train_few_all,dev_few_all,test,test_public}.json`` | train |
| ``cmrc`` | encyclopedia (Wikipedia) | ``ymcui/cmrc2018`` ``data/cmrc2018_{dev,trial}.json`` @ c0eb1b6 | train |
| ``med`` | Q&A (medical questions and answers) | ``Toyhom/Chinese-medical-dialogue-data`` ``Data_数据/IM_内科/内科.txt`` @ 26724a4 | train |
| ``med_qa`` | Q&A (same site, another file) | same repository, ``样例_内科5000-6000.csv`` | held out (500 sampled, titles seen in training dropped) |
| ``chid`` | web articles (news, self-media, essays, 2019-2020) | ``CLUEbenchmark/FewCLUE`` ``datasets/chid/{unlabeled,test,test_public,train_few_all,dev_few_all}.json`` @ 62a02c6 (``#idiom#`` filled with the answer, or the first candidate where there is none) | train |
| ``c3`` | exam reading texts: stories, essays, news, dialogues | ``nlpdata/c3`` ``data/c3-{m,d}-{train,dev,test}.json`` @ 1f41682 (each document once) | train |
| ``drcd`` | encyclopedia (Wikipedia, Traditional: read as Simplified like every input) | ``DRCKnowledgeTeam/DRCD`` ``DRCD_{dev,test}.json`` @ b944790 | train |
| ``boson`` | web news (BosonNLP NER corpus) | ``GentleCP/Datasets`` ``NLP/NER/boson/origindata.txt`` @ 189e971 (entity markup ``{{type:text}}`` removed) | train |
| ``car`` | forum comments (car owners, CCF BDCI 2018) | ``OYE93/Chinese-NLP-Corpus`` ``Classification/BDCI_Car_2018/{train_2,test_public_2}.csv`` @ e9bb5b5 | train |
| ``msra`` | news (People's Daily, MSRA NER corpus) | ``SophonPlus/ChineseNlpCorpus`` ``datasets/dh_msra/dh_msra.zip`` @ a0b781d (one sentence per block; consecutive sentences, put back in reading order, grouped 2-8 to a paragraph) | train |
| ``weibo`` | microblogs: Weibo posts and reposts' comments, 2011-2014 (CED rumour corpus) | ``thunlp/Chinese_Rumor_Dataset`` ``CED_Dataset/*/*.json`` @ c1178d8 (comments of a repost chain split, mentions, emoji tags and links dropped) | train |
| ``dureader`` | web: Baidu search results (Zhidao answers, Jingyan how-tos, web pages) | ``baidu/DuReader`` ``DuReader-2.0/data/demo/{trainset,devset,testset}/search.*.json`` @ c625076 (each document's paragraphs) | train |
| ``kdconv`` | dialogue (crowd-written, about films, music, travel) | ``thu-coai/KdConv`` ``data/{film,music,travel}/{dev,test}.json`` @ 653db76 | train |
| ``essays`` | sentences of modern essays (the files hold one sentence per block: each is a document of its own, some starting with the closing quote of the sentence before) | ``lqfeng/NLPDataset`` ``实体识别/Chinese-Literature/{test,validation}.txt`` @ fb49caf (one character per line) | train |
| ``medforum`` | sentences of forum posts (a medical forum; one sentence per block, as above) | same repository, ``中文分词/AMTTL/forum_{train,dev,test}.txt`` (one character per line) | train |
| ``weibo_ner`` | microblogs (Weibo NER corpus) | ``OYE93/Chinese-NLP-Corpus`` ``NER/Weibo/weiboNER_2nd_conll.{train,dev,test}`` @ e9bb5b5 (one character per line) | train |
| ``judgments`` | court judgments (administrative cases) | ``lr12/textcnnrnn`` ``data/ay/cnews.{train,val,test}.txt`` @ aa0560b | train |
| ``sohu`` | news (a Sogou news sample, Sohu) | ``NICE-FUTURE/tfidf-cosine-text-recommendation`` ``news_sohusite_xml.smarty.dat`` @ c4ae9d1 (164 contents, 157 distinct; their paragraph separator U+E40C is a private-use character the normalizer drops, so paragraphs run together; about half are cut off mid-sentence) | train |

The held-out part mixes genres (web, news, reviews, Q&A) and is document-disjoint from
the training part; ``cec`` and ``hotel`` are also source-disjoint. Samples are drawn with
a fixed seed, so the corpus is the same on every run.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import zipfile
from pathlib import Path

CLUE = Path("/work/shared/evaldata/zh-text/clue-sample-dev.txt")


def _sample(items: list, n: int, seed: str) -> list:
    items = list(dict.fromkeys(items))  # drop exact duplicates, keep order
    if len(items) <= n:
        return items
    return random.Random(seed).sample(items, n)


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def build(src: Path) -> list[dict]:
    docs: list[dict] = []

    def add(source: str, genre: str, texts: list[str], split: str | None = None) -> None:
        for i, text in enumerate(texts):
            text = text.strip().replace("\r\n", "\n")
            if len(text) < 10:
                continue
            docs.append(
                {"source": source, "genre": genre, "doc": f"{source}-{i}",
                 "split": split or "train", "text": text}
            )  # fmt: skip

    clue = CLUE.read_text(encoding="utf-8").split("\n")[:1250]
    add("clue", "web", clue[:1000])
    add("clue", "web", [""] * 1000 + clue[1000:], "heldout")

    news = [ln.split("\t", 1)[1] for ln in (src / "cnews.val.txt").read_text("utf-8").splitlines()]
    add("thucnews", "news", news)
    cec = sorted((src / "cec" / "raw corpus" / "allSourceText").glob("*.txt"))
    add("cec", "news", [p.read_text("utf-8-sig").split("\n", 1)[-1] for p in cec], "heldout")

    hotel = [r["review"] for r in _csv_rows((src / "hotel.csv").read_text("utf-8"))]
    add("hotel", "review", _sample(hotel, 500, "hotel"), "heldout")
    waimai = [r["review"] for r in _csv_rows((src / "waimai.csv").read_text("utf-8"))]
    add("waimai", "review", _sample(waimai, 3000, "waimai"))
    with zipfile.ZipFile(src / "shopping.zip") as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        rows = _csv_rows(z.read(name).decode("utf-8-sig"))
    add("shopping", "review", _sample([r["review"].lstrip("\ufeff") for r in rows], 8000, "shop"))
    ep = [json.loads(ln)["sentence"] for ln in (src / "fewclue_eprstmt_unlabeled.json").open()]
    add("eprstmt", "review", _sample(ep, 3000, "eprstmt"))

    apps = []
    for name in ("train_few_all", "dev_few_all", "test", "test_public"):
        apps += [json.loads(ln)["sentence"] for ln in (src / f"fewclue_iflytek_{name}.json").open()]
    add("iflytek", "app", list(dict.fromkeys(apps)))

    wiki = []
    for name in ("cmrc_dev.json", "cmrc_trial.json"):
        data = json.loads((src / name).read_text("utf-8"))
        wiki += [d["context_text"] for d in (data["data"] if isinstance(data, dict) else data)]
    add("cmrc", "wiki", list(dict.fromkeys(wiki)))

    med_text = (src / "med_neike.txt").read_bytes().decode("gb18030", errors="replace")
    blocks = [b.strip() for b in med_text.split("\n\n\n") if b.strip()]
    med = []
    for block in blocks:
        question, _, answer = block.partition("\n")
        title, _, ask = question.partition(",")
        med.append(f"{title}{ask}\n{answer.strip()}" if ask != title else f"{title}\n{answer}")
    add("med", "qa", med)
    seen = {m.split("\n", 1)[0][:20] for m in med}
    rows = _csv_rows((src / "med_sample.csv").read_bytes().decode("gb18030", errors="replace"))
    qa = [f"{r['title']}{r['ask']}\n{r['answer']}" for r in rows if r["title"]]
    qa = [q for q in qa if q.split("\n", 1)[0][:20] not in seen]
    add("med_qa", "qa", _sample(qa, 500, "medqa"), "heldout")

    add("chid", "web", _chid(src))
    add("msra", "news", _msra(src))
    c3 = []
    for name in ("m-train", "m-dev", "m-test", "d-train", "d-dev", "d-test"):
        c3 += ["\n".join(d[0]) for d in json.loads((src / f"c3-{name}.json").read_text("utf-8"))]
    add("c3", "mixed", list(dict.fromkeys(c3)))
    drcd = []
    for name in ("dev", "test"):
        data = json.loads((src / f"DRCD_{name}.json").read_text("utf-8"))["data"]
        drcd += [p["context"] for a in data for p in a["paragraphs"]]
    add("drcd", "wiki", list(dict.fromkeys(drcd)))
    boson = (src / "boson_origindata.txt").read_text("utf-8").splitlines()
    add("boson", "news", [re.sub(r"\{\{[a-z_]+:\s*([^}]*)\}\}", r"\1", t) for t in boson])
    car = []
    for name in ("bdci_car_train_2.csv", "bdci_car_test_public_2.csv"):
        car += [r["content"] for r in _csv_rows((src / name).read_text("utf-8"))]
    add("car", "forum", list(dict.fromkeys(car)))

    # third model: more web genres (microblogs, search results and Q&A, dialogue, essays,
    # a medical forum, judgments, news), appended so that the documents above keep their ids
    add("weibo", "forum", list(dict.fromkeys(_weibo(src / "CED_Dataset"))))
    add("dureader", "web", _dureader(src))
    kdconv = []
    for topic in ("film", "music", "travel"):
        for name in ("dev", "test"):
            dialogues = json.loads(
                (src / f"thu-coai__KdConv__{topic}_{name}.json").read_text("utf-8")
            )
            kdconv += ["\n".join(m["message"] for m in d["messages"]) for d in dialogues]
    add("kdconv", "dialogue", list(dict.fromkeys(kdconv)))
    essays = []
    for name in ("test", "validation"):
        essays += _char_lines(src / f"lqfeng__NLPDataset__Chinese-Literature_{name}.txt", " ")
    add("essays", "essay", list(dict.fromkeys(essays)))
    forum = []
    for name in ("train", "dev", "test"):
        forum += _char_lines(src / f"lqfeng__NLPDataset__AMTTL_forum_{name}.txt", "\t")
    add("medforum", "forum", list(dict.fromkeys(forum)))
    posts = []
    for name in ("train", "dev", "test"):
        path = src / f"OYE93__Chinese-NLP-Corpus__weiboNER_2nd_conll.{name}"
        # each character carries the position of its word as a digit
        posts += [p for t in _char_lines(path, "\t", strip=1) for p in _comments(t)]
    add("weibo_ner", "forum", list(dict.fromkeys(posts)))
    judgments = []
    for name in ("train", "val", "test"):
        lines = (src / f"lr12__textcnnrnn__cnews.{name}.txt").read_text("utf-8").splitlines()
        judgments += [ln.split("\t", 1)[1] for ln in lines if "\t" in ln]
    add("judgments", "legal", list(dict.fromkeys(judgments)))
    sohu = src / "NICE-FUTURE__tfidf-cosine-text-recommendation__news_sohusite_xml.smarty.dat"
    add("sohu", "news", re.findall(r"<content>(.+?)</content>", sohu.read_text("utf-8")))
    return docs


def _char_lines(path: Path, sep: str, strip: int = 0) -> list[str]:
    """Texts stored one character per line with a tag, a blank line after each text (a
    sentence, in the essay and forum files)."""
    texts = []
    for block in re.split(r"\n\s*\n", path.read_text("utf-8")):
        chars = [ln.split(sep)[0] for ln in block.split("\n") if ln.strip()]
        texts.append("".join(c[: len(c) - strip] for c in chars))
    return texts


def _comments(text: str) -> list[str]:
    """A microblog text's comments (a repost chain ``//@user:`` split), with replies'
    ``回复@user:``, mentions, emoji tags and links dropped; a comment under 20 characters
    or with fewer than two marks is left out."""
    out = []
    for piece in re.split(r"//@[^:：\s]{1,30}[:：]", text):
        piece = re.sub(r"回复@[^:：\s]{1,30}[:：]|@[^\s:：@，。]{1,30}|\[[^\]]{1,8}\]", "", piece)
        piece = re.sub(r"https?:\S*", "", piece).strip()
        if len(piece) >= 20 and sum(piece.count(m) for m in "。，、") >= 2:
            out.append(piece)
    return out


def _weibo(folder: Path) -> list[str]:
    """Weibo posts and their reposts' comments (CED), each comment on its own."""
    texts = []
    for path in sorted(folder.glob("*/*.json")):
        data = json.loads(path.read_text("utf-8"))
        for post in data if isinstance(data, list) else [data]:
            texts += _comments(post.get("text") or "")
    return texts


def _dureader(src: Path) -> list[str]:
    """DuReader's search results (Baidu Zhidao, Baidu Jingyan, web pages): each
    document's paragraphs as one text. Its ，were written ',' (the normalizer gives them
    back between Chinese characters, as a run does)."""
    texts = []
    for name in ("train", "dev", "test"):
        for line in (src / f"baidu__DuReader__search.{name}.json").open(encoding="utf-8"):
            for doc in json.loads(line)["documents"]:
                texts.append("\n".join(p.strip() for p in doc["paragraphs"] if p.strip()))
    return list(dict.fromkeys(texts))


def _chid(src: Path) -> list[str]:
    """FewCLUE's ChID passages with the blank filled: the answer where the file has one,
    else the first candidate (an idiom either way); a truncated end ("...") dropped."""
    texts = []
    for name in ("train_few_all", "dev_few_all", "test_public", "test", "unlabeled"):
        for line in (src / f"chid_{name}.json").open(encoding="utf-8"):
            d = json.loads(line)
            answer = d.get("answer")
            idiom = d["candidates"][answer if isinstance(answer, int) and answer >= 0 else 0]
            text = d["content"].replace("#idiom#", idiom).strip()
            texts.append(text.removesuffix("...").removesuffix("…").strip())
    return list(dict.fromkeys(texts))


def _msra(src: Path) -> list[str]:
    """MSRA NER's sentences (one character per line, a blank line between sentences;
    the file lists an article's sentences last to first), regrouped into paragraphs of
    2-8 consecutive sentences."""
    with zipfile.ZipFile(src / "dh_msra.zip") as z:
        raw = z.read("dh_msra.txt").decode("utf-8")
    sentences = []
    for block in raw.split("\n\n"):
        chars = [ln.split("\t")[0] for ln in block.split("\n") if ln.strip()]
        if chars:
            sentences.append("".join(chars))
    sentences.reverse()
    rng = random.Random("msra")
    out, i = [], 0
    while i < len(sentences):
        k = rng.randint(2, 8)
        out.append("".join(sentences[i : i + k]))
        i += k
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=Path("/work/data/punct/src"))
    parser.add_argument("--out", type=Path, default=Path("/work/data/punct/corpus.jsonl"))
    args = parser.parse_args()
    docs = build(args.src)
    with args.out.open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    counts: dict[tuple[str, str], list[int]] = {}
    for d in docs:
        c = counts.setdefault((d["source"], d["split"]), [0, 0])
        c[0] += 1
        c[1] += sum(d["text"].count(m) for m in "。，、")
    for (source, split), (n, marks) in sorted(counts.items()):
        print(f"{source:10} {split:8} {n:6} docs {marks:8} marks")


if __name__ == "__main__":
    main()
