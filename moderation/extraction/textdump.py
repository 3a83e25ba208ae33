"""Text dumps of article pages with their comment section (a page saved as text).

The rules follow the layout such dumps share, not any one file:

* the page header runs up to the first comment counter line ("1 Comment"); its last line is
  the headline, a short line before it the section, "Photo:" lines are captions, and a
  "date YYYY-MM-DD" marker dates the article;
* after the counter an upper-case dateline ("TOKYO") may open the body, which runs to an
  agency credit ("© KYODO") or the site's copyright footer ("©2023 ...");
* the comment list opens after a counter line followed by a "Login to comment" prompt and
  closes at "Login to leave a comment"; each comment ends with its vote line
  "N ( +U / -D )", optionally opened by an author line and a date line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar

from moderation.dates import looks_like_date, parse_datetime
from moderation.errors import ExtractionError
from moderation.extraction import patterns as p
from moderation.extraction.base import Source
from moderation.thread import Article, Comment, Thread, Votes, stable_comment_id

_MAX_SECTION_WORDS = 3
_MAX_DATELINE_WORDS = 4
_MAX_AUTHOR_CHARS = 60


@dataclass
class _Block:
    lines: list[str] = field(default_factory=list)
    votes: Votes = field(default_factory=Votes)


def _count(raw: str) -> int:
    word = raw.lower()
    if word == "no":
        return 0
    if word == "one":
        return 1
    return int("".join(ch for ch in raw if ch.isdigit()))


def _next_nonempty(lines: list[str], start: int) -> int | None:
    return next((i for i in range(start, len(lines)) if lines[i]), None)


class TextDumpExtractor:
    name: ClassVar[str] = "text"
    description: ClassVar[str] = "article page saved as text, with its comment section"

    def sniff(self, source: Source) -> float:
        head = source.head(4096).lstrip()
        if not head or head[0] in "<{[":
            return 0.0
        lines = [line.strip() for line in source.data.decode("utf-8", errors="replace").splitlines()]
        has_counter = any(p.COMMENT_COUNTER.match(line) for line in lines)
        has_votes = any(p.VOTE_LINE.match(line) for line in lines)
        has_prompt = any(p.COMMENTS_OPEN.match(line) for line in lines)
        return 0.3 * has_counter + 0.4 * has_votes + 0.3 * has_prompt

    def threads(self, source: Source) -> list[Thread]:
        return [self._thread(source)]

    def _thread(self, source: Source) -> Thread:
        lines = [line.strip() for line in source.text().splitlines()]
        counters = [i for i, line in enumerate(lines) if p.COMMENT_COUNTER.match(line)]
        if not counters:
            raise ExtractionError(f"{source.name}: no comment counter line such as '3 Comments' found")
        list_counter = self._list_counter(lines, counters)
        header_counter = counters[0] if counters[0] < list_counter else None
        article = self._article(lines[:list_counter], header_counter)
        comments = self._comments(lines, list_counter, article)
        counter_match = p.COMMENT_COUNTER.match(lines[list_counter])
        assert counter_match is not None
        announced = _count(counter_match["count"])
        metadata: dict[str, object] = {"source": source.name}
        if announced > len(comments):
            metadata["missing_comments"] = announced - len(comments)
        return Thread(
            article=article,
            comments=comments,
            source_format=self.name,
            announced_comments=announced,
            metadata=metadata,
        )

    @staticmethod
    def _list_counter(lines: list[str], counters: list[int]) -> int:
        """The counter that heads the comment list: the one a login prompt follows, else the last."""
        for index in counters:
            following = _next_nonempty(lines, index + 1)
            if following is not None and p.COMMENTS_OPEN.match(lines[following]):
                return index
        return counters[-1]

    def _article(self, lines: list[str], header_counter: int | None) -> Article:
        published: date | None = None
        published_raw: str | None = None
        captions: list[str] = []
        content: list[str] = []
        for line in lines[: header_counter if header_counter is not None else len(lines)]:
            if not line:
                continue
            marker = p.HEADER_DATE.search(line)
            if marker:  # the navigation line that carries the date: keep the date only
                published_raw = marker["date"]
                published = date.fromisoformat(published_raw)
            elif p.PHOTO_CAPTION.search(line):
                captions.append(line)
            else:
                content.append(line)
        if header_counter is not None:
            head, rest = content, lines[header_counter + 1 :]
        else:  # no header counter: the first content line is the headline
            head, rest = content[:1], [line for line in content[1:]]
        if not head:
            raise ExtractionError("no article headline found before the comment counter")
        title = head[-1]
        section = head[-2] if len(head) >= 2 and len(head[-2].split()) <= _MAX_SECTION_WORDS else None
        dateline, body, credit = self._body([line for line in rest if line], captions)
        return Article(
            title=title,
            published=published,
            published_raw=published_raw,
            section=section,
            dateline=dateline,
            captions=captions,
            body=body,
            credit=credit,
        )

    @staticmethod
    def _body(lines: list[str], captions: list[str]) -> tuple[str | None, list[str], str | None]:
        dateline = None
        if lines and p.DATELINE.match(lines[0]) and len(lines[0].split()) <= _MAX_DATELINE_WORDS:
            dateline, lines = lines[0], lines[1:]
        body: list[str] = []
        credit = None
        for line in lines:
            if p.SITE_COPYRIGHT.match(line):
                break
            if p.ARTICLE_CREDIT.match(line):
                credit = line
                break
            if p.PHOTO_CAPTION.search(line) and len(line.split()) <= 20:
                captions.append(line)
                continue
            body.append(line)
        return dateline, body, credit

    def _comments(self, lines: list[str], list_counter: int, article: Article) -> list[Comment]:
        start = list_counter + 1
        opening = _next_nonempty(lines, start)
        if opening is not None and p.COMMENTS_OPEN.match(lines[opening]):
            start = opening + 1
        closing = next((i for i in range(start, len(lines)) if p.COMMENTS_CLOSE.match(lines[i])), None)
        blocks: list[_Block] = []
        current = _Block()
        for line in lines[start : closing if closing is not None else len(lines)]:
            vote = p.VOTE_LINE.match(line)
            if vote:
                score = int(vote["score"].replace("\u2212", "-").replace("\u2013", "-"))
                current.votes = Votes(up=int(vote["up"]), down=int(vote["down"]), score=score)
                blocks.append(current)
                current = _Block()
            elif line:
                current.lines.append(line)
        # Lines after the last vote line are a comment only when a closing prompt bounds them;
        # otherwise they are the page's furniture (login boxes, "trending" links).
        if current.lines and closing is not None:
            blocks.append(current)
        return [self._comment(block, position, article) for position, block in enumerate(blocks)]

    @staticmethod
    def _comment(block: _Block, position: int, article: Article) -> Comment:
        lines = block.lines
        author = published_raw = None
        if len(lines) >= 3 and len(lines[0]) <= _MAX_AUTHOR_CHARS and looks_like_date(lines[1]):
            author, published_raw, lines = lines[0], lines[1], lines[2:]
        elif len(lines) >= 2 and looks_like_date(lines[0]):
            published_raw, lines = lines[0], lines[1:]
        text = "\n".join(lines)
        reference = (
            datetime(article.published.year, article.published.month, article.published.day)
            if isinstance(article.published, date)
            else None
        )
        published = parse_datetime(published_raw, reference=reference) if published_raw else None
        return Comment(
            id=stable_comment_id(article, position, author, text),
            author=author,
            published=published,
            published_raw=published_raw,
            text=text,
            votes=block.votes,
            position=position,
        )
