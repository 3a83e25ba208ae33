"""moderation.language: which language a comment or an article is in, offline, on texts written here."""

from __future__ import annotations

import threading

import pytest

from moderation.language import (
    LANGUAGES,
    MIN_CONFIDENCE,
    UNDETERMINED,
    DetectedLanguage,
    clean,
    detect_language,
    detect_languages,
    with_languages,
)
from moderation.thread import Article, Comment, Thread

SENTENCES = {
    "de": "Das ist eine ziemlich schlechte Idee, und die Regierung sollte sich dafür schämen.",
    "fr": "Je ne suis pas du tout d'accord avec cet article, c'est vraiment ridicule.",
    "es": "No estoy de acuerdo con este artículo, es una vergüenza para el periódico.",
    "pt": "Não concordo com este artigo, é uma vergonha para o jornal e para os leitores.",
    "en": "I completely disagree with this article; the minister should be ashamed of himself.",
}


@pytest.mark.parametrize(("language", "text"), SENTENCES.items())
def test_a_sentence_is_given_its_language_with_a_confidence(language: str, text: str) -> None:
    found = detect_language(text)
    assert found is not None
    assert found.language == language
    assert MIN_CONFIDENCE <= found.confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "😀😀👍",
        "ok",
        "https://example.org/news/a-story?id=3 http://x.example/b",
        "@someone www.example.com",
        "12 345 !!!",
        "",
    ],
)
def test_text_with_too_little_language_gets_none(text: str) -> None:
    assert detect_language(text) is None


def test_urls_mentions_and_entities_are_cleaned_away_before_detecting() -> None:
    assert clean("@user Tom &amp; Jerry http://t.co/x see www.example.org") == "Tom & Jerry see"
    text = "https://example.org/one " + SENTENCES["de"] + " @someone https://example.org/two"
    found = detect_language(text)
    assert found is not None and found.language == "de"


def test_detections_are_iso_codes_of_the_desks_set_and_confidences_are_probabilities() -> None:
    found = detect_languages([*SENTENCES.values(), "ok", "Bonjour à tous", "Danke schön"])
    assert len(found) == len(SENTENCES) + 3
    assert found[len(SENTENCES)] is None
    for item in found:
        if item is not None:
            assert item.language in LANGUAGES
            assert 0.0 <= item.confidence <= 1.0
    assert "und" == UNDETERMINED not in LANGUAGES


def test_a_higher_floor_answers_less() -> None:
    short = "Bonjour"  # a word: a language, but not a sure one
    found = detect_language(short, min_confidence=0.0)
    assert found is not None and found.confidence < 0.99
    assert detect_language(short, min_confidence=0.99) is None


def test_detection_is_safe_from_several_threads() -> None:
    results: list[list[DetectedLanguage | None]] = []

    def work() -> None:
        results.append(detect_languages(list(SENTENCES.values()) * 20))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all([d.language if d else None for d in r] == list(SENTENCES) * 20 for r in results)


def _thread(*comments: Comment, article: Article | None = None) -> Thread:
    return Thread(
        article=article or Article(title="Le gouvernement annonce une réforme des retraites"),
        comments=list(comments),
        source_format="json",
    )


def test_with_languages_detects_each_comment_and_the_article() -> None:
    article = Article(
        title="Le gouvernement annonce une réforme des retraites",
        body=["Le Premier ministre a présenté mardi un projet de loi qui repousse l'âge légal de départ."],
    )
    thread = _thread(
        Comment(id="1", text=SENTENCES["fr"], position=0),
        Comment(id="2", text=SENTENCES["de"], position=1),
        Comment(id="3", text="👍", position=2),
        article=article,
    )
    detected = with_languages(thread)
    assert detected.article.language == "fr"
    assert [c.language for c in detected.comments] == ["fr", "de", None]
    first, second, third = detected.comments
    assert first.language_confidence is not None and 0.0 <= first.language_confidence <= 1.0
    assert second.language_confidence is not None
    assert third.language_confidence is None
    # The input is left as it was; everything but the languages is kept.
    assert thread.comments[0].language is None and thread.article.language is None
    assert [c.text for c in detected.comments] == [c.text for c in thread.comments]


def test_with_languages_keeps_a_language_the_source_gave() -> None:
    thread = _thread(
        Comment(id="1", text=SENTENCES["en"], position=0, language="cy"),  # the source knows better: kept
        article=Article(title="Breaking news from Cardiff", language="cy"),
    )
    detected = with_languages(thread)
    assert detected.comments[0].language == "cy"
    assert detected.comments[0].language_confidence is None
    assert detected.article.language == "cy"


def test_an_article_without_text_gets_no_language() -> None:
    detected = with_languages(_thread(article=Article(url="https://news.example/a")))
    assert detected.article.language is None
    assert detected.comments == []


def test_a_confidence_without_a_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language_confidence needs a language"):
        Comment(id="1", text="x", position=0, language_confidence=0.5)
