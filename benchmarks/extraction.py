"""Comment-extraction benchmark: our extractor against every gold file, trafilatura as the peer.

    .venv/bin/python benchmarks/extraction.py [--pages ../shared/data/pages] [--out benchmarks/results/extraction.md]

A predicted comment matches a gold comment one to one when their whitespace-normalised texts
are equal or have a difflib similarity of at least 0.9 (exact matches first, then the most
similar pairs). On matched comments: author, published (the raw string as displayed) and
parent accuracy. Negative pages (``has_comments=no`` in INDEX.tsv) report how many comments
each extractor invented. The peer is trafilatura's own comment output
(``include_comments=True``), one comment per paragraph, as its documentation offers it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from moderation.errors import ModerationError
from moderation.extraction import Source, extract_all
from moderation.extraction.gold import SIMILARITY, match_texts, normalise

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
    error: str | None = None
    seconds: float = 0.0
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


def score_page(name: str, gold: list[Item], predicted: list[Item]) -> PageScore:
    pairs = match_texts([g.text for g in gold], [p.text for p in predicted])
    page = PageScore(name, len(gold), len(predicted), len(pairs))
    gold_ids = {item.id: g for g, item in enumerate(gold)}
    predicted_ids = {i: item.id for i, item in enumerate(predicted)}
    for g, i in pairs.items():
        want, got = gold[g], predicted[i]
        page.author_ok += normalise(want.author) == normalise(got.author)
        page.published_ok += normalise(want.published) == normalise(got.published)
        if want.parent is None:
            page.parent_ok += got.parent is None
        else:
            parent_match = pairs.get(gold_ids[want.parent])
            page.parent_ok += parent_match is not None and got.parent == predicted_ids[parent_match]
    return page


def gold_items(gold: dict) -> list[Item]:
    return [Item(c["id"], c["parent"], c.get("author"), c.get("published"), c["text"]) for c in gold["comments"]]


def ours(path: Path) -> list[Item]:
    """Every comment of every thread, in document order."""
    threads = extract_all(Source.from_path(path))
    return [Item(c.id, c.parent, c.author, c.published_raw, c.text) for thread in threads for c in thread.comments]


def trafilatura_peer(path: Path) -> list[Item]:
    """trafilatura's comment section, one comment per paragraph (it gives no authors, dates or replies)."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(
        Source.from_path(path).text(), include_comments=True, output_format="xml", with_metadata=False
    )
    if not xml:
        return []
    root = etree.fromstring(xml.encode("utf-8"))
    section = root.find("comments")
    if section is None:
        return []
    texts = [normalise("".join(node.itertext())) for node in section]
    return [Item(f"t{i}", None, None, None, text) for i, text in enumerate(texts) if text]


def run(extractor: Callable[[Path], list[Item]], path: Path, name: str, gold: list[Item]) -> PageScore:
    started = time.perf_counter()
    try:
        predicted = extractor(path)
        error = None
    except (ModerationError, ValueError) as exc:
        predicted, error = [], f"{type(exc).__name__}: {exc}"
    page = score_page(name, gold, predicted)
    page.error = error
    page.seconds = time.perf_counter() - started
    return page


def overall(pages: list[PageScore]) -> PageScore:
    total = PageScore("overall (micro)", 0, 0, 0)
    for page in pages:
        total.gold += page.gold
        total.predicted += page.predicted
        total.matched += page.matched
        total.author_ok += page.author_ok
        total.published_ok += page.published_ok
        total.parent_ok += page.parent_ok
        total.seconds += page.seconds
    return total


def accuracy(ok: int, page: PageScore) -> str:
    return f"{ok / page.matched:.3f}" if page.matched else "-"


def row(page: PageScore) -> str:
    cells = [
        page.name,
        str(page.gold),
        str(page.predicted),
        f"{page.precision:.3f}",
        f"{page.recall:.3f}",
        f"{page.f1:.3f}",
        accuracy(page.author_ok, page),
        accuracy(page.published_ok, page),
        accuracy(page.parent_ok, page),
        (page.error or "")[:80],
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| page | gold | predicted | precision | recall | F1 | author | published | parent | error |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def negatives(pages_dir: Path) -> list[str]:
    with (pages_dir / "INDEX.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r["file"] for r in rows if r["has_comments"] == "no" and (pages_dir / r["file"]).is_file()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "extraction.md")
    args = parser.parse_args()
    if not (args.pages / "gold").is_dir():
        print(f"no gold files under {args.pages}", file=sys.stderr)
        return 2
    results: dict[str, list[PageScore]] = {"moderation": [], "trafilatura": []}
    for gold_path in sorted((args.pages / "gold").glob("*.json")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        page_path = args.pages / gold["file"]
        items = gold_items(gold)
        results["moderation"].append(run(ours, page_path, gold["file"], items))
        if page_path.suffix in {".html", ".htm"}:
            results["trafilatura"].append(run(trafilatura_peer, page_path, gold["file"], items))
    negative_rows = []
    for name in negatives(args.pages):
        counts = []
        for extractor in (ours, trafilatura_peer):
            page = run(extractor, args.pages / name, name, [])
            counts.append(f"error: {page.error[:60]}" if page.error else str(page.predicted))
        negative_rows.append(f"| {name} | {counts[0]} | {counts[1]} |")
    lines = [
        "# Comment extraction benchmark",
        "",
        f"Gold: `{os.path.relpath(args.pages / 'gold', REPO)}` ({len(results['moderation'])} files). Reproduce: "
        "`.venv/bin/python benchmarks/extraction.py`. Matching: whitespace-normalised text equal or "
        f"difflib ratio >= {SIMILARITY}, one to one. Author, published (raw string) and parent accuracy "
        "are over matched comments.",
        "",
    ]
    for name, pages in results.items():
        html = [p for p in pages if p.name.endswith((".html", ".htm"))]
        exports = [p for p in pages if p not in html]
        lines += [f"## {name}", "", HEADER, *(row(p) for p in pages)]
        for label, subset in (("overall, HTML pages", html), ("overall, exports", exports), ("overall", pages)):
            if subset:
                total = overall(subset)
                total.name = f"**{label}** (micro)"
                lines.append(row(total))
        if pages:
            macro = sum(p.f1 for p in pages) / len(pages)
            lines += [
                "",
                f"Macro-average F1 over {len(pages)} files: {macro:.3f}; "
                f"lowest page F1: {min(p.f1 for p in pages):.3f}.",
                "",
            ]
    lines += [
        "## Negative pages (no comment section): comments extracted",
        "",
        "| page | moderation | trafilatura |",
        "|---|---|---|",
        *negative_rows,
        "",
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
