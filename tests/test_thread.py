"""The thread model's own rules: unique ids, known parents, stable hashes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from moderation import Article, Comment, Thread
from moderation.thread import stable_comment_id


def _comment(id: str, parent: str | None = None, position: int = 0) -> Comment:
    return Comment(id=id, parent=parent, text="hi", position=position)


def test_replies_must_point_at_a_comment_of_the_thread() -> None:
    Thread(article=Article(title="t"), comments=[_comment("a"), _comment("b", "a", 1)], source_format="json")
    with pytest.raises(ValidationError, match="unknown comment 'zz'"):
        Thread(article=Article(title="t"), comments=[_comment("b", "zz")], source_format="json")


def test_duplicate_comment_ids_are_rejected() -> None:
    with pytest.raises(ValidationError, match="unique"):
        Thread(article=Article(title="t"), comments=[_comment("a"), _comment("a", position=1)], source_format="json")


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Comment.model_validate({"id": "a", "text": "x", "position": 0, "likes": 3})


def test_stable_ids_depend_on_article_position_author_and_text() -> None:
    article = Article(title="t", url="https://example.org/a")
    base = stable_comment_id(article, 0, "ann", "text")
    assert base == stable_comment_id(article, 0, "ann", "text")
    variants = {
        stable_comment_id(Article(title="t", url="https://example.org/b"), 0, "ann", "text"),
        stable_comment_id(article, 1, "ann", "text"),
        stable_comment_id(article, 0, "bob", "text"),
        stable_comment_id(article, 0, "ann", "text!"),
    }
    assert base not in variants and len(variants) == 4


def test_article_key_prefers_the_url() -> None:
    assert Article(title="t", url="https://example.org/a").key() == "https://example.org/a"
    assert Article(title="t").key() == "t|"


def test_threads_without_url_or_title_get_distinct_keys() -> None:
    untitled = [
        Thread(article=Article(), comments=[_comment("a")], source_format="disqus", metadata={"thread_id": "1"}),
        Thread(article=Article(), comments=[_comment("a")], source_format="disqus", metadata={"thread_id": "2"}),
        Thread(article=Article(), comments=[_comment("x")], source_format="csv"),
        Thread(article=Article(), comments=[_comment("y")], source_format="csv"),
    ]
    assert len({t.key() for t in untitled}) == 4
    titled = Thread(article=Article(title="t", url="https://example.org/a"), source_format="html")
    assert titled.key() == "https://example.org/a"
