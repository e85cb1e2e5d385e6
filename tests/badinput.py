"""The bad-input corpus, generated file by file, with what each input must become."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from tests.conftest import seed_text

PROSE = seed_text("004").split("\n")[8]  # a long paragraph of real prose
SECRET = b"aws_secret_access_key=FAKE-zhclean-test-secret"
HTML_PAGES = Path(__file__).resolve().parent / "data" / "html"


def html_page(name: str) -> str:
    return (HTML_PAGES / name).read_text(encoding="utf-8")


def html_inputs() -> dict[str, tuple[bytes, str]]:
    """HTML saved as text, as crawlers dump it: name -> (bytes, expected outcome).

    A news page (navigation, breadcrumb, scripts, styles, noscript, template, comments,
    footer), a forum thread, an entity-laden fragment, a GB18030 page that says so in a
    meta tag, a page of scripts only, and one nested deeper than the parser can take.
    """
    nested = "<html><body>" + "<div>" * 5_000 + "正文藏在五千层里。" + "</div>" * 5_000
    scripts = (
        "<html><head><script>var a = 1;</script><style>p { color: red; }</style></head></html>"
    )
    return {
        "html_news.txt": (html_page("news.html").encode("utf-8"), "published"),
        "html_forum.txt": (html_page("forum.html").encode("utf-8"), "published"),
        "html_entities.txt": (html_page("entities.html").encode("utf-8"), "published"),
        "html_gb18030.txt": (html_page("gb18030.html").encode("gb18030"), "published"),
        "html_scripts_only.txt": (scripts.encode("utf-8"), "html.no_text"),
        "html_nested.txt": (nested.encode("utf-8"), "html.too_deep"),
    }


def build_bad_corpus(root: Path, with_seeds: bool = True) -> dict[str, str]:
    """Write the corpus under ``root``; return source -> expected outcome.

    The outcome is ``published`` or the ``stage.check`` that must quarantine it. The
    unreadable file is only unreadable to a non-root user; as root it is published.
    """
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def put(name: str, data: bytes, outcome: str) -> None:
        (root / name).write_bytes(data)
        expected[name] = outcome

    put("empty.txt", b"", "read.empty_file")
    put("whitespace.txt", b" \n\t\n\xe3\x80\x80\r\n  \n", "normalize.empty_text")
    put(
        "image.png",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        "read.binary_file",
    )
    text = seed_text("004")
    put(
        "damaged_utf8.txt", text[:200].encode() + b"\xff\xfe\xc3" + text[200:].encode(), "published"
    )
    put("gb18030.txt", seed_text("004").encode("gb18030"), "published")
    put(
        "big5.txt",
        seed_text("001").replace("\xa0", " ").encode("big5", errors="strict"),
        "published",
    )
    put("utf16.txt", codecs.BOM_UTF16_LE + seed_text("002").encode("utf-16-le"), "published")
    put("crlf.txt", seed_text("003").replace("\n", "\r\n").encode("utf-8"), "published")
    put("lone_cr.txt", seed_text("000").replace("\n", "\r").encode("utf-8"), "published")
    line = (PROSE.replace("\n", "") + " ") * (5_000_000 // len(PROSE.encode("utf-8")) + 1)
    put(
        "one_line_5mb.txt",
        line.encode("utf-8")[:5_000_000].decode("utf-8", "ignore").encode("utf-8"),
        "published",
    )
    menu = "\n".join(["首页", "新闻中心", "|", "政务公开", "相关链接", "· 关于我们", "· 联系我们",
                      "Copyright © 2022 版权所有", "京ICP备12345678号", "网站地图 | 隐私政策"])  # fmt: skip
    put("all_boilerplate.txt", menu.encode("utf-8"), "strip_boilerplate.empty_after_boilerplate")
    with open(root / "too_large.txt", "wb") as fh:  # sparse: over the 8 MiB cap, no disk used
        fh.truncate(9 * 1024 * 1024)
    expected["too_large.txt"] = "read.too_large"
    put("emoji_only.txt", "😀😀🎉\n👍 ❤️ ✨✨\n——\n".encode(), "normalize.no_words")
    put("新闻 稿件 第1期.txt", seed_text("001").encode("utf-8"), "published")
    os.symlink("loop.txt", root / "loop.txt")
    expected["loop.txt"] = "read.unreadable"
    unreadable = root / "unreadable.txt"
    unreadable.write_text(PROSE, encoding="utf-8")
    unreadable.chmod(0)
    expected["unreadable.txt"] = "published" if os.geteuid() == 0 else "read.unreadable"
    # Hostile entries: links out of the input folder (a fake credentials file, a folder,
    # a device), a FIFO that would block a reader forever, a name that is not UTF-8, and a
    # harmless link that stays inside the folder.
    outside = root.parent / f"{root.name}-outside"
    (outside / "folder").mkdir(parents=True, exist_ok=True)
    (outside / "creds").write_bytes(SECRET + b"\n")
    (outside / "folder" / "page.txt").write_text(PROSE, encoding="utf-8")
    for name, target in (("creds.txt", outside / "creds"), ("linked_folder", outside / "folder"),
                         ("zero.txt", Path("/dev/zero"))):  # fmt: skip
        os.symlink(target, root / name)
        expected[name] = "read.outside_input_root"
    os.mkfifo(root / "pipe.txt")
    expected["pipe.txt"] = "read.not_a_regular_file"
    (root / os.fsdecode(b"\xff\xfe\xe6\x96\xb0\xe9\x97\xbb.txt")).write_text(
        PROSE, encoding="utf-8"
    )
    expected["\\xff\\xfe新闻.txt"] = "published"
    os.symlink("crlf.txt", root / "inside_link.txt")
    expected["inside_link.txt"] = "published"
    for name, (data, outcome) in html_inputs().items():
        put(name, data, outcome)
    if with_seeds:
        for prefix in ("000", "004"):
            name = f"seed_{prefix}.txt"
            put(name, seed_text(prefix).encode("utf-8"), "published")
    return expected
