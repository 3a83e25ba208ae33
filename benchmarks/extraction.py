"""Comment-extraction benchmark: our extractor against every gold file, trafilatura as the peer.

    .venv/bin/python benchmarks/extraction.py [--pages ../shared/data/pages] [--out benchmarks/results/extraction.md]

A predicted comment matches a gold comment one to one when their whitespace-normalised texts
are equal or have a difflib similarity of at least 0.9 (exact matches first, then the most
similar pairs; where our extractor reads markup that a page prints as text, as in Disqus' no-script
fallback, the gold text is read so too). On matched comments: author, published (the raw string as displayed) and
parent accuracy, and author and date accuracy where the page shows them (gold not null). Negative
pages (``has_comments=no`` in the index) report how many comments each extractor invented. The peer
is trafilatura's own comment output (``include_comments=True``), one comment per paragraph, as its
documentation offers it.

Two generalisation checks read every HTML page again with rules switched off:
- *general finder only*: every rule written for a platform's or a site's markup is off; what is left
  is JSON-LD, schema.org microdata and the general finder;
- *leave one site out*: for each page, the rules that found its comments are switched off one after
  another (re-reading each time) until what finds them is a standard or the general finder, so no
  rule written for that page's markup has a say.
A field-coverage table lists, for every page and export in the index, what the extractor reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from moderation.errors import ModerationError
from moderation.extraction import Source, extract_all
from moderation.extraction.gold import SIMILARITY, gold_files, index_rows, match_texts, negative_pages, normalise
from moderation.extraction.html import SITE_RULES, HtmlExtractor
from moderation.extraction.selectors import MARKUP_AS_TEXT

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PAGES = REPO.parent / "shared" / "data" / "pages"


@dataclass(frozen=True)
class Item:
    """One comment as compared: ids are only meaningful within one side."""

    id: str
    parent: str | None
    author: str | None
    published: str | None
    text: str


@dataclass
class PageScore:
    name: str
    gold: int
    predicted: int
    matched: int
    author_ok: int = 0
    published_ok: int = 0
    parent_ok: int = 0
    author_shown: int = 0
    author_shown_ok: int = 0
    date_shown: int = 0
    date_shown_ok: int = 0
    error: str | None = None
    seconds: float = 0.0
    rule: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else (1.0 if not self.gold else 0.0)

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_page(name: str, gold: list[Item], predicted: list[Item], *, as_markup: bool = False) -> PageScore:
    pairs = match_texts([g.text for g in gold], [p.text for p in predicted], as_markup=as_markup)
    page = PageScore(name, len(gold), len(predicted), len(pairs))
    gold_ids = {item.id: g for g, item in enumerate(gold)}
    predicted_ids = {i: item.id for i, item in enumerate(predicted)}
    for g, i in pairs.items():
        want, got = gold[g], predicted[i]
        author_ok = normalise(want.author) == normalise(got.author)
        published_ok = normalise(want.published) == normalise(got.published)
        page.author_ok += author_ok
        page.published_ok += published_ok
        if want.author:
            page.author_shown += 1
            page.author_shown_ok += author_ok
        if want.published:
            page.date_shown += 1
            page.date_shown_ok += published_ok
        if want.parent is None:
            page.parent_ok += got.parent is None
        else:
            parent_match = pairs.get(gold_ids[want.parent])
            page.parent_ok += parent_match is not None and got.parent == predicted_ids[parent_match]
    return page


def gold_items(gold: dict) -> list[Item]:
    return [Item(c["id"], c["parent"], c.get("author"), c.get("published"), c["text"]) for c in gold["comments"]]


Extractor = Callable[[Path], tuple[list[Item], str | None]]


def ours(path: Path) -> tuple[list[Item], str | None]:
    """Every comment of every thread, in document order, and the rule that found them."""
    threads = extract_all(Source.from_path(path))
    rule = threads[0].metadata.get("comment_rule") if threads else None
    items = [Item(c.id, c.parent, c.author, c.published_raw, c.text) for thread in threads for c in thread.comments]
    return items, str(rule) if rule else None


def without(rules: frozenset[str]) -> Extractor:
    """The HTML extractor with ``rules`` switched off."""

    def extract(path: Path) -> tuple[list[Item], str | None]:
        thread = HtmlExtractor(without_rules=rules).threads(Source.from_path(path))[0]
        rule = thread.metadata.get("comment_rule")
        items = [Item(c.id, c.parent, c.author, c.published_raw, c.text) for c in thread.comments]
        return items, str(rule) if rule else None

    return extract


def leave_site_out(path: Path) -> tuple[list[Item], str | None]:
    """Switch off the rule that found the page's comments until a standard or the general finder does."""
    off: frozenset[str] = frozenset()
    while True:
        items, rule = without(off)(path)
        if rule not in SITE_RULES:
            return items, f"{rule} (off: {', '.join(sorted(off)) or '-'})"
        off = off | {rule}


def trafilatura_peer(path: Path) -> tuple[list[Item], str | None]:
    """trafilatura's comment section, one comment per paragraph (it gives no authors, dates or replies)."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(
        Source.from_path(path).text(), include_comments=True, output_format="xml", with_metadata=False
    )
    if not xml:
        return [], None
    root = etree.fromstring(xml.encode("utf-8"))
    section = root.find("comments")
    if section is None:
        return [], None
    texts = [normalise("".join(node.itertext())) for node in section]
    return [Item(f"t{i}", None, None, None, text) for i, text in enumerate(texts) if text], None


def run(extractor: Extractor, path: Path, name: str, gold: list[Item]) -> PageScore:
    started = time.perf_counter()
    try:
        predicted, rule = extractor(path)
        error = None
    except (ModerationError, ValueError) as exc:
        predicted, rule, error = [], None, f"{type(exc).__name__}: {exc}"
    # A rule that reads markup printed as text (Disqus' no-script fallback) is scored against the gold as read.
    page = score_page(name, gold, predicted, as_markup=(rule or "").split(" ")[0] in MARKUP_AS_TEXT)
    page.error, page.rule = error, rule
    page.seconds = time.perf_counter() - started
    return page


def overall(pages: list[PageScore]) -> PageScore:
    total = PageScore("overall (micro)", 0, 0, 0)
    for page in pages:
        for name in (
            "gold",
            "predicted",
            "matched",
            "author_ok",
            "published_ok",
            "parent_ok",
            "author_shown",
            "author_shown_ok",
            "date_shown",
            "date_shown_ok",
            "seconds",
        ):
            setattr(total, name, getattr(total, name) + getattr(page, name))
    return total


def ratio(ok: int, of: int) -> str:
    return f"{ok / of:.3f}" if of else "-"


def row(page: PageScore) -> str:
    cells = [
        page.name,
        str(page.gold),
        str(page.predicted),
        f"{page.precision:.3f}",
        f"{page.recall:.3f}",
        f"{page.f1:.3f}",
        ratio(page.author_ok, page.matched),
        ratio(page.published_ok, page.matched),
        ratio(page.parent_ok, page.matched),
        ratio(page.author_shown_ok, page.author_shown),
        ratio(page.date_shown_ok, page.date_shown),
        page.rule or "",
        (page.error or "")[:80],
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| page | gold | predicted | precision | recall | F1 | author | published | parent | author where shown"
    " | date where shown | rule | error |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def table(title: str, pages: list[PageScore]) -> list[str]:
    html = [p for p in pages if p.name.endswith((".html", ".htm"))]
    exports = [p for p in pages if p not in html]
    lines = [f"## {title}", "", HEADER, *(row(p) for p in pages)]
    for label, subset in (("overall, HTML pages", html), ("overall, exports", exports), ("overall", pages)):
        if subset:
            total = overall(subset)
            total.name = f"**{label}** (micro)"
            lines.append(row(total))
    if pages:
        macro = sum(p.f1 for p in pages) / len(pages)
        lines += [
            "",
            f"Macro-average F1 over {len(pages)} files: {macro:.3f}; lowest page F1: {min(p.f1 for p in pages):.3f}.",
            "",
        ]
    return lines


def coverage(pages_dir: Path) -> list[str]:
    """What the extractor reads on every page and export in the index, gold or not."""
    lines = [
        "## Field coverage on every page and export in the index",
        "",
        "Shares of the extracted comments that carry each field; `dated` is a date parsed from the shown one.",
        "",
        "| file | has comments | announced | extracted | author | shown date | dated | parent | votes | rule |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in index_rows(pages_dir):
        path = pages_dir / entry["file"]
        if not path.is_file():
            continue
        try:
            threads = extract_all(Source.from_path(path))
        except (ModerationError, ValueError) as exc:
            lines.append(f"| {entry['file']} | {entry['has_comments']} | - | error: {str(exc)[:60]} |||||||")
            continue
        comments = [c for thread in threads for c in thread.comments]
        announced = sum(t.announced_comments or 0 for t in threads) or "-"
        rule = threads[0].metadata.get("comment_rule") if threads else None

        def share(count: int, comments: list = comments) -> str:
            return f"{count / len(comments):.2f}" if comments else "-"

        lines.append(
            f"| {entry['file']} | {entry['has_comments']} | {announced} | {len(comments)}"
            f" | {share(sum(1 for c in comments if c.author))}"
            f" | {share(sum(1 for c in comments if c.published_raw))}"
            f" | {share(sum(1 for c in comments if c.published))}"
            f" | {share(sum(1 for c in comments if c.parent))}"
            f" | {share(sum(1 for c in comments if c.votes.score is not None or c.votes.up is not None))}"
            f" | {rule or '-'} |"
        )
    return [*lines, ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "extraction.md")
    args = parser.parse_args()
    golds = gold_files(args.pages)
    if not golds:
        print(f"no gold files under {args.pages}", file=sys.stderr)
        return 2
    extractors: dict[str, Extractor] = {
        "moderation": ours,
        "trafilatura": trafilatura_peer,
        "moderation, general finder only": without(SITE_RULES),
        "moderation, leave one site out": leave_site_out,
    }
    results: dict[str, list[PageScore]] = {name: [] for name in extractors}
    for gold_path in golds:
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        page_path = args.pages / gold["file"]
        items = gold_items(gold)
        html = page_path.suffix in {".html", ".htm"}
        for name, extractor in extractors.items():
            if html or name == "moderation":
                results[name].append(run(extractor, page_path, gold["file"], items))
    negative_rows = []
    for name in negative_pages(args.pages):
        counts = []
        for extractor in extractors.values():
            page = run(extractor, args.pages / name, name, [])
            counts.append(f"error: {page.error[:60]}" if page.error else str(page.predicted))
        negative_rows.append(f"| {name} | {' | '.join(counts)} |")
    lines = [
        "# Comment extraction benchmark",
        "",
        f"Gold: `{os.path.relpath(args.pages / 'gold', REPO)}` and `gold-new` ({len(golds)} files). Reproduce: "
        "`.venv/bin/python benchmarks/extraction.py`. Matching: whitespace-normalised text equal or "
        f"difflib ratio >= {SIMILARITY}, one to one (gold text that a page prints as markup is read as HTML where "
        "our rule does: Disqus' no-script fallback). Author, published (raw string) and parent accuracy "
        "are over matched comments; *where shown* counts only comments whose gold field is not null. "
        f"Site rules switched off in the generalisation checks: {', '.join(sorted(SITE_RULES))}.",
        "",
    ]
    for name, pages in results.items():
        lines += table(name, pages)
    lines += [
        "## Negative pages (no comment section): comments extracted",
        "",
        f"| page | {' | '.join(extractors)} |",
        f"|---|{'---|' * len(extractors)}",
        *negative_rows,
        "",
        *coverage(args.pages),
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
