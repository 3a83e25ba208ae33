"""Perspective's SuggestCommentScore kept as feedback: one row per suggested attribute with the text's SHA-256 and
never the text, listed for moderators through ``/v1/feedback``, and usable again as training data by whoever
holds the texts (``moderation feedback export``, then ``moderation train --feedback``).

The bodies are Perspective's documented example (conversationai/perspectiveapi 2-api/methods.md) and what
Coral Talk sends when a moderator decides (src/core/server/services/perspective/perspective.ts).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from moderation.cli import app
from moderation.feedback import SuggestCommentScoreRequest, feedback_examples, record_suggestion, text_digest
from moderation.perspective import PerspectiveError
from moderation.scores import ATTRIBUTES
from moderation.storage import make_engine, repository, transaction
from moderation.training.attribute_data import load_attribute_data
from moderation.training.feedback_data import FEEDBACK

SUGGEST = "/v1alpha1/comments:suggestscore"
COMMENT = "You are a stupid idiot and everyone hates you."
#: What Coral sends when a moderator rejects a comment: its toxicity model scored 1, its site, its comment id.
CORAL = {
    "comment": {"text": COMMENT},
    "context": {
        "entries": [{"text": json.dumps({"url": "https://news.example/a?commentID=42", "Coral_comment_id": "42"})}]
    },
    "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}},
    "languages": ["en"],
    "communityId": "Coral:https://news.example",
    "clientToken": "comment:42",
}

Client = Callable[..., Any]


def _request(**body: Any) -> SuggestCommentScoreRequest:
    return SuggestCommentScoreRequest.model_validate(body)


def _record(engine: Engine, source: str = "key:test", **body: Any) -> None:
    with transaction(engine) as session:
        record_suggestion(session, _request(**body), source=source, max_chars=100)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'feedback.db'}")
    yield engine
    engine.dispose()


# The library ------------------------------------------------------------------------------------------------


def test_each_suggested_attribute_is_stored_with_the_texts_digest(engine: Engine) -> None:
    body = {
        "comment": {"text": "Get busy living, or get busy dying."},
        "attributeScores": {"TOXICITY@6": {"summaryScore": {"value": 0}}, "SPAM": {"summaryScore": {"value": 0.25}}},
        "communityId": "/forum/movies",
        "clientToken": "comment-53922",
    }
    _record(engine, source="key:abcd1234 (coral)", **body)
    with transaction(engine) as session:
        rows = repository.list_feedback(session).items
    digest = hashlib.sha256(b"Get busy living, or get busy dying.").hexdigest()
    assert {(row.attribute, row.score) for row in rows} == {("TOXICITY", 0.0), ("SPAM", 0.25)}
    for row in rows:
        assert (row.text_sha256, row.source, row.language) == (digest, "key:abcd1234 (coral)", "en")
        assert (row.community_id, row.client_token) == ("/forum/movies", "comment-53922")
    assert not any(hasattr(row, "text") for row in rows)


def test_the_answer_echoes_the_token_and_names_the_languages(sqlite: Engine) -> None:
    with transaction(sqlite) as session:
        given = record_suggestion(session, _request(**CORAL), source="s", max_chars=100)
        detected = record_suggestion(session, _request(**{**CORAL, "languages": []}), source="s", max_chars=100)
        rows = repository.list_feedback(session).items
    assert given.model_dump(by_alias=True, exclude_none=True) == {
        "clientToken": "comment:42",
        "requestedLanguages": ["en"],
    }
    assert detected.detected_languages == ["en"] and detected.requested_languages is None
    assert [row.language for row in rows] == ["en", "en"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"comment": {"text": " "}}, "Comment must be non-empty."),
        ({"comment": {"text": "x" * 101}}, "Comment text too long."),
        ({"comment": {"text": "<b>hi</b>", "type": "HTML"}}, "Currently, only 'PLAIN_TEXT' comments are supported"),
        ({"attributeScores": {}}, "Missing attribute_scores"),
        ({"attributeScores": {"TOXIC": {"summaryScore": {"value": 1}}}}, "Unknown attribute: TOXIC"),
        (
            {"attributeScores": {"TOXICITY": {"spanScores": [{"begin": 0, "end": 3, "score": {"value": 1}}]}}},
            "Attribute TOXICITY has no summaryScore: the desk stores summary scores only",
        ),
        (
            {"attributeScores": {"TOXICITY": {"summaryScore": {"value": 7, "type": "RAW"}}}},
            "Suggested score type RAW is not supported by attribute TOXICITY",
        ),
        (
            {"attributeScores": {"TOXICITY": {"summaryScore": {"value": 1.5}}}},
            "The summaryScore of TOXICITY must be a probability, from 0 to 1",
        ),
        (
            {
                "attributeScores": {
                    "TOXICITY": {"summaryScore": {"value": 1}},
                    "TOXICITY@6": {"summaryScore": {"value": 0}},
                }
            },
            "Attribute TOXICITY is suggested more than once",
        ),
        ({"communityId": "c" * 1025}, "communityId has 1,025 characters; the database holds at most 1,024"),
        (
            {"clientToken": "comment:\x00"},
            "clientToken contains a NUL character (U+0000), which the database cannot store",
        ),
    ],
)
def test_suggestions_that_cannot_be_stored_are_refused_with_a_message(
    sqlite: Engine, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(PerspectiveError) as raised:
        _record(sqlite, **{**CORAL, **change})
    assert (raised.value.code, raised.value.message) == (400, message)
    with transaction(sqlite) as session:
        assert repository.list_feedback(session).items == []


def test_feedback_labels_the_texts_it_names_with_the_latest_score_of_each_head(sqlite: Engine) -> None:
    both = {"TOXICITY": {"summaryScore": {"value": 1}}, "OBSCENE": {"summaryScore": {"value": 0.5}}}
    _record(sqlite, comment={"text": "first"}, attributeScores=both)
    # A moderator changed their mind: the later approval counts. Feedback no head answers is left out.
    _record(sqlite, comment={"text": "first"}, attributeScores={"TOXICITY": {"summaryScore": {"value": 0}}})
    _record(sqlite, comment={"text": "second"}, attributeScores={"SPAM": {"summaryScore": {"value": 1}}})
    with transaction(sqlite) as session:
        examples = list(feedback_examples(session, ["first", "unknown", "second", "first"]))
    assert [(e.text, e.text_sha256, e.attributes) for e in examples] == [
        ("first", text_digest("first"), {"TOXICITY": 0.0, "PROFANITY": 0.5})
    ]


# The endpoints ----------------------------------------------------------------------------------------------


def test_corals_suggestion_is_stored_without_its_text_and_listed_for_moderators(make_client: Client) -> None:
    client = make_client()
    key = client.headers.pop("Authorization").removeprefix("Bearer ")
    answer = client.post(f"{SUGGEST}?key={key}", json=CORAL)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"clientToken": "comment:42", "requestedLanguages": ["en"]}
    listed = client.get("/v1/feedback", headers={"Authorization": f"Bearer {key}"})
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["text_sha256"] == text_digest(COMMENT)
    assert (item["attribute"], item["score"], item["language"]) == ("TOXICITY", 1.0, "en")
    assert (item["community_id"], item["client_token"]) == ("Coral:https://news.example", "comment:42")
    assert item["source"].startswith("key:") and item["source"].endswith(" (test)")
    url = str(client.app.state.app_state.settings.database_url).removeprefix("sqlite:///")
    stored = b"".join(path.read_bytes() for path in Path(url).parent.glob(Path(url).name + "*"))
    assert COMMENT.encode() not in stored and text_digest(COMMENT).encode() in stored


def test_the_feedback_listing_pages_and_filters(make_client: Client) -> None:
    client = make_client()
    for i in range(3):
        body = {**CORAL, "comment": {"text": f"comment {i}"}, "communityId": f"Coral:site-{i % 2}"}
        assert client.post(SUGGEST, json=body).status_code == 200
    first = client.get("/v1/feedback", params={"limit": 2}).json()
    rest = client.get("/v1/feedback", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [item["client_token"] for item in first["items"] + rest["items"]] == ["comment:42"] * 3
    assert rest["next_cursor"] is None and len({i["id"] for i in first["items"] + rest["items"]}) == 3
    site = client.get("/v1/feedback", params={"community_id": "Coral:site-0"}).json()["items"]
    assert len(site) == 2
    one = client.get("/v1/feedback", params={"text_sha256": text_digest("comment 1")}).json()["items"]
    assert [item["community_id"] for item in one] == ["Coral:site-1"]
    assert client.get("/v1/feedback", params={"text_sha256": "not-a-digest"}).status_code == 422


def test_suggesting_needs_a_write_key_and_listing_a_moderate_key(make_client: Client) -> None:
    writer = make_client(scopes=("write",))
    assert writer.post(SUGGEST, json=CORAL).status_code == 200
    assert writer.get("/v1/feedback").status_code == 403
    reader = make_client(scopes=("read",))
    refused = reader.post(SUGGEST, json=CORAL)
    assert refused.status_code == 403 and refused.json()["error"]["status"] == "PERMISSION_DENIED"
    bad = writer.post(SUGGEST, json={**CORAL, "attributeScores": {}})
    assert bad.json()["error"] == {"code": 400, "message": "Missing attribute_scores", "status": "INVALID_ARGUMENT"}


# Training data ----------------------------------------------------------------------------------------------


def _texts_file(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    return path


def test_exported_feedback_joins_the_attribute_data_as_one_more_source(tmp_path: Path, tiny_data_dir: Path) -> None:
    database = f"sqlite:///{tmp_path / 'desk.db'}"
    engine = make_engine(database)
    texts = [f"you stupid idiot number {i}" if i % 2 else f"we love the movie number {i}" for i in range(40)]
    for i, text in enumerate(texts):
        _record(engine, comment={"text": text}, attributeScores={"TOXICITY": {"summaryScore": {"value": i % 2}}})
    engine.dispose()
    exported = tmp_path / "feedback.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "feedback",
            "export",
            str(_texts_file(tmp_path / "texts.jsonl", [*texts, "no feedback"])),
            "--out",
            str(exported),
            "--database-url",
            database,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 40 of 41 texts" in result.output
    found: dict[str, float] = {}
    for split in ("train", "validation", "test"):
        data = load_attribute_data(split, tiny_data_dir, feedback=exported)
        mine = data.source(FEEDBACK)
        column = mine.fractions[:, ATTRIBUTES.index("TOXICITY")]
        found.update(zip(mine.texts, column.tolist(), strict=True))
        assert np.isnan(np.delete(mine.fractions, ATTRIBUTES.index("TOXICITY"), axis=1)).all()
    assert found == {text: float(i % 2) for i, text in enumerate(texts)}


def test_a_feedback_file_that_is_not_an_export_is_refused_with_its_line(tmp_path: Path, tiny_data_dir: Path) -> None:
    from moderation.errors import DataError

    broken = tmp_path / "feedback.jsonl"
    broken.write_text('{"text": "hi", "text_sha256": "x", "attributes": {"SPAM": 1}}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"feedback.jsonl:1: unknown attribute 'SPAM'"):
        load_attribute_data("train", tiny_data_dir, feedback=broken)


def test_training_with_feedback_counts_it_among_the_attribute_sources(
    tmp_path: Path, tiny_data_dir: Path, tiny_encoder_dir: Path
) -> None:
    from moderation.models.encoder import Encoder
    from moderation.training.frozen_heads import train_heads

    lines = [
        {"text": f"{words} {i}", "text_sha256": text_digest(f"{words} {i}"), "attributes": {"TOXICITY": float(toxic)}}
        for i in range(40)
        for words, toxic in [("you stupid idiot", True), ("we love the movie", False)]
    ]
    exported = tmp_path / "feedback.jsonl"
    exported.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    heads, _ = train_heads(Encoder.load(tiny_encoder_dir), tiny_data_dir, feedback=exported, log=lambda _: None)
    toxicity = heads.manifest["heads"]["toxicity"]
    assert toxicity["train"]["sources"][FEEDBACK] > 0
    assert FEEDBACK in toxicity["train"]["shares"] and FEEDBACK in toxicity["test"]
    assert FEEDBACK not in heads.manifest["heads"]["INSULT"]["train"]["sources"]


def test_feedback_trains_the_english_heads_only() -> None:
    result = CliRunner().invoke(app, ["train", "--multilingual", "--feedback", "feedback.jsonl"])
    assert result.exit_code == 2
    assert "--feedback trains the English model's heads" in result.output
