"""/v1/threads: storing a thread (JSON or upload), listing, reading, comments with filters and pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE

Client = Any
MakeClient = Callable[..., Client]

TEXTS = (
    "The islands belong to Japan, full stop.",
    "Great reporting, thank you.",
    "Only scum would write this.",
    "Give the islands back, you stupid idiots.",
    "I disagree with the minister on this.",
    "Those islands are Russian now and will stay Russian.",
    "What a lovely, hopeful piece.",
)
#: Words decide in this policy, so the tests know each comment's decision whatever the model scores.
POLICY = 'banned_words = ["scum"]\nsuspect_words = ["islands"]\n'
EXPECTED = ("review", "approve", "reject", "review", "approve", "review", "approve")


def thread_json(url: str = "https://news.example/kuril", texts: tuple[str, ...] = TEXTS, **article: Any) -> dict:
    return {
        "article": {"url": url, "title": "Kuril islands talks stall", **article},
        "comments": [
            {"id": f"c{i}", "author": f"reader {i}", "text": text, "position": i, "parent": "c0" if i == 1 else None}
            for i, text in enumerate(texts)
        ],
    }


@pytest.fixture
def client(make_client: MakeClient, tmp_path: Path) -> Client:
    """A client whose desk decides with the word policy above."""
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    return make_client(policy=policy)


def post(client: Client, body: Any) -> Any:
    response = client.post("/v1/threads", json=body)
    assert response.status_code == 200, response.text
    return response.json()["threads"]


def walk(client: Client, url: str, **params: Any) -> list[dict]:
    """Every item of a cursor-paged listing."""
    items: list[dict] = []
    cursor = None
    while True:
        response = client.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def problem(response: Any, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict = response.json()
    assert body["status"] == status
    return body


def test_a_json_thread_is_scored_stored_and_summarised(client: Client) -> None:
    (summary,) = post(client, thread_json())
    assert summary["key"] == summary["url"] == "https://news.example/kuril"
    assert summary["source_format"] == "json"  # the default when left out
    counts = summary["counts"]
    assert counts["comments"] == counts["scored"] == len(TEXTS)
    assert counts["decisions"] == {"approve": 3, "review": 3, "reject": 1, "undecided": 0}
    assert sum(counts["sentiment"].values()) == sum(counts["stance"].values()) == len(TEXTS)
    assert 0 <= counts["mean_toxicity"] <= counts["max_toxicity"] <= 1

    detail = client.get(f"/v1/threads/{summary['id']}").json()
    assert detail["article"]["title"] == "Kuril islands talks stall"
    assert detail["counts"] == counts and detail["excluded_items"] == []

    comments = walk(client, f"/v1/threads/{summary['id']}/comments")
    assert [c["text"] for c in comments] == list(TEXTS)
    assert [c["decision"]["action"] for c in comments] == list(EXPECTED)
    assert comments[1]["parent"] == "c0" and comments[0]["source_id"] == "c0"
    first = comments[0]
    assert first["scores"]["model"] and first["scores"]["stance"] is not None
    assert first["decision"]["reasons"][0]["code"] == "suspect_word"
    assert first["decision"]["decided_by"] == "policy"

    audit = client.get("/v1/audit", params={"action": "thread.stored"}).json()["items"]
    assert audit[0]["subject_id"] == str(summary["id"]) and audit[0]["actor"].startswith("key:")


def test_reposting_an_article_updates_it_and_never_duplicates(client: Client) -> None:
    (first,) = post(client, thread_json(texts=TEXTS[:3]))
    changed = thread_json(texts=("The islands belong to Japan. Edited.", *TEXTS[1:4]))
    (second,) = post(client, changed)
    assert second["id"] == first["id"]
    assert second["counts"]["comments"] == 4
    threads = walk(client, "/v1/threads")
    assert [t["id"] for t in threads] == [first["id"]]
    comments = walk(client, f"/v1/threads/{first['id']}/comments")
    assert comments[0]["text"] == "The islands belong to Japan. Edited."
    assert len({c["id"] for c in comments}) == 4


def test_a_list_of_threads_is_stored_in_one_request(client: Client) -> None:
    stored = post(client, [thread_json("https://news.example/a"), thread_json("https://news.example/b")])
    assert [t["url"] for t in stored] == ["https://news.example/a", "https://news.example/b"]
    assert len({t["id"] for t in stored}) == 2


def test_the_example_text_dump_uploads_and_reuploads_to_the_same_thread(client: Client) -> None:
    def upload() -> dict:
        with EXAMPLE.open("rb") as handle:
            response = client.post("/v1/threads", files={"file": (EXAMPLE.name, handle, "text/plain")})
        assert response.status_code == 200, response.text
        (summary,) = response.json()["threads"]
        return summary

    first = upload()
    assert first["source_format"] == "text"
    assert "Lavrov" in first["title"] or "Russian" in first["title"]
    assert first["counts"]["comments"] >= 1 and first["counts"]["scored"] == first["counts"]["comments"]
    second = upload()
    assert second["id"] == first["id"] and second["counts"]["comments"] == first["counts"]["comments"]
    assert len(walk(client, "/v1/threads")) == 1


DISQUS = """<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
<thread dsq:id="10"><id>one</id><link>https://news.example/one</link><title>Story one</title></thread>
<thread dsq:id="20"><id>two</id><link>https://news.example/two</link><title>Story two</title></thread>
<post dsq:id="1"><message><![CDATA[<p>The islands again.</p>]]></message><thread dsq:id="10"/></post>
<post dsq:id="2"><message><![CDATA[<p>A reply.</p>]]></message><thread dsq:id="10"/><parent dsq:id="1"/></post>
<post dsq:id="3"><message><![CDATA[Elsewhere, calm.]]></message><thread dsq:id="20"/></post>
<post dsq:id="4"><message>gone</message><isDeleted>true</isDeleted><thread dsq:id="20"/></post>
</disqus>
"""

WXR = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>A blog</title>
<item><title>Post</title><link>https://blog.example/post/</link><wp:post_id>7</wp:post_id>
<wp:post_type>post</wp:post_type>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_content><![CDATA[Lovely post.]]></wp:comment_content>
<wp:comment_approved>1</wp:comment_approved><wp:comment_parent>0</wp:comment_parent></wp:comment>
<wp:comment><wp:comment_id>2</wp:comment_id><wp:comment_content><![CDATA[Spam here]]></wp:comment_content>
<wp:comment_approved>spam</wp:comment_approved><wp:comment_parent>0</wp:comment_parent></wp:comment>
</item></channel></rss>
"""


@pytest.mark.parametrize(
    ("export", "fmt", "urls"),
    [
        (DISQUS, None, ["https://news.example/one", "https://news.example/two"]),
        (WXR, "wxr", ["https://blog.example/post/"]),
    ],
)
def test_an_export_upload_stores_every_thread(client: Client, export: str, fmt: str | None, urls: list[str]) -> None:
    data = {"format": fmt} if fmt else {}
    files = {"file": ("export.xml", export.encode(), "application/xml")}
    response = client.post("/v1/threads", files=files, data=data)
    assert response.status_code == 200, response.text
    stored = response.json()["threads"]
    assert [t["url"] for t in stored] == urls
    assert sum(t["excluded"] for t in stored) == 1  # the deleted post, the spam comment
    again = client.post("/v1/threads", files=files, data=data).json()["threads"]
    assert [t["id"] for t in again] == [t["id"] for t in stored]
    assert len(walk(client, "/v1/threads")) == len(urls)


def test_bad_thread_bodies_are_refused_with_their_reason(client: Client) -> None:
    unknown = thread_json()
    unknown["comments"][0]["colour"] = "red"
    body = problem(client.post("/v1/threads", json=unknown), 422)
    assert body["errors"] == [{"loc": ["body", "comments", "0", "colour"], "msg": "Extra inputs are not permitted"}]
    orphan = thread_json()
    orphan["comments"][0]["parent"] = "nobody"
    assert "unknown comment" in problem(client.post("/v1/threads", json=orphan), 422)["errors"][0]["msg"]
    assert problem(client.post("/v1/threads", json=[]), 422)["errors"]
    assert problem(client.post("/v1/threads", json={"comments": []}), 422)["errors"][0]["loc"] == ["body", "article"]
    broken = client.post("/v1/threads", content=b'{"article": ', headers={"content-type": "application/json"})
    assert "not valid JSON" in problem(broken, 400)["detail"]
    surrogate = b'{"article": {"title": "\\ud800"}}'
    problem(client.post("/v1/threads", content=surrogate, headers={"content-type": "application/json"}), 422)
    huge = thread_json()
    huge["comments"][0]["votes"] = {"up": 10**30}
    assert "out of range" in problem(client.post("/v1/threads", json=huge), 422)["detail"]
    plain = client.post("/v1/threads", content=b"hello", headers={"content-type": "text/plain"})
    assert "multipart/form-data" in problem(plain, 415)["detail"]
    assert client.get("/v1/threads").json()["items"] == []  # nothing half-stored


def test_bad_uploads_are_refused_with_their_reason(client: Client) -> None:
    no_file = client.post("/v1/threads", files={"other": ("x.txt", b"x")})
    assert "'file'" in problem(no_file, 422)["detail"]
    unknown = client.post("/v1/threads", files={"file": ("x.txt", b"hello")}, data={"format": "fax"})
    assert "unknown format" in problem(unknown, 422)["detail"]
    noise = client.post("/v1/threads", files={"file": ("x.bin", bytes(range(256)) * 4)})
    assert problem(noise, 422)["detail"]
    wrong = client.post("/v1/threads", files={"file": ("x.xml", DISQUS.encode())}, data={"format": "reddit"})
    problem(wrong, 422)
    broken = client.post(
        "/v1/threads", content=b"--b\r\nnonsense", headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert broken.status_code in (400, 422)
    assert client.get("/v1/threads").json()["items"] == []


def test_storing_and_reading_need_the_right_key(make_client: MakeClient) -> None:
    anonymous = make_client(scopes=None)
    problem(anonymous.post("/v1/threads", json=thread_json()), 401)
    problem(anonymous.get("/v1/threads"), 401)
    problem(anonymous.get("/v1/threads/1"), 401)
    problem(anonymous.get("/v1/threads/1/comments"), 401)
    wrong = make_client(scopes=None)
    wrong.headers["Authorization"] = "Bearer md_00000000_nope"
    problem(wrong.get("/v1/threads"), 401)
    reader = make_client(scopes=("read",))
    assert "'write'" in problem(reader.post("/v1/threads", json=thread_json()), 403)["detail"]
    assert reader.get("/v1/threads").status_code == 200
    writer = make_client(scopes=("write",))
    problem(writer.get("/v1/threads"), 403)


def test_open_reads_let_listings_through_without_a_key_but_not_writes(make_client: MakeClient) -> None:
    client = make_client(scopes=None, open_reads=True)
    assert client.get("/v1/threads").json() == {"items": [], "next_cursor": None}
    problem(client.get("/v1/threads/1"), 404)
    problem(client.post("/v1/threads", json=thread_json()), 401)


def test_unknown_threads_and_bad_ids_are_404_and_422(client: Client) -> None:
    assert "no thread 999" in problem(client.get("/v1/threads/999"), 404)["detail"]
    problem(client.get("/v1/threads/999/comments"), 404)
    problem(client.get("/v1/threads/0"), 422)
    problem(client.get("/v1/threads/99999999999999999999"), 422)
    problem(client.get("/v1/threads/abc"), 422)


def test_thread_pages_walk_every_thread_once_newest_first(client: Client) -> None:
    ids = [post(client, thread_json(f"https://news.example/{n}", texts=TEXTS[:1]))[0]["id"] for n in range(5)]
    seen = walk(client, "/v1/threads", limit=2)
    assert [t["id"] for t in seen] == ids[::-1]
    first = client.get("/v1/threads", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert all(t["counts"]["comments"] == 1 for t in seen)


def test_bad_cursors_and_limits_are_422(client: Client) -> None:
    (summary,) = post(client, thread_json())
    comments_url = f"/v1/threads/{summary['id']}/comments"
    other_listing = client.get(comments_url, params={"limit": 1}).json()["next_cursor"]
    assert "invalid cursor" in problem(client.get("/v1/threads", params={"cursor": other_listing}), 422)["detail"]
    problem(client.get("/v1/threads", params={"cursor": "!!not-base64!!"}), 422)
    problem(client.get(comments_url, params={"cursor": "eyJ4Ijox"}), 422)
    problem(client.get("/v1/threads", params={"limit": 0}), 422)
    problem(client.get("/v1/threads", params={"limit": 101}), 422)


def test_comment_pages_walk_the_thread_in_order_without_duplicates(client: Client) -> None:
    (summary,) = post(client, thread_json())
    for limit in (1, 3, 100):
        comments = walk(client, f"/v1/threads/{summary['id']}/comments", limit=limit)
        assert [c["position"] for c in comments] == list(range(len(TEXTS)))
        assert len({c["id"] for c in comments}) == len(TEXTS)


def test_comment_filters_select_what_they_say(client: Client) -> None:
    (summary,) = post(client, thread_json())
    url = f"/v1/threads/{summary['id']}/comments"
    every = walk(client, url)

    def ids(**params: Any) -> list[int]:
        return [c["id"] for c in walk(client, url, **params)]

    def expected(keep: Callable[[dict], bool]) -> list[int]:
        return [c["id"] for c in every if keep(c)]

    assert ids(decision="review") == expected(lambda c: c["decision"]["action"] == "review")
    assert len(ids(decision="review")) == 3
    toxic = sorted(c["scores"]["attributes"]["TOXICITY"] for c in every)[3]
    assert ids(min_score=f"TOXICITY:{toxic}") == expected(lambda c: c["scores"]["attributes"]["TOXICITY"] >= toxic)
    for stance in ("against", "neutral", "favor"):
        assert ids(stance=stance) == expected(lambda c, s=stance: c["scores"]["stance"]["label"] == s)
    for sentiment in ("negative", "neutral", "positive"):
        assert ids(sentiment=sentiment) == expected(lambda c, s=sentiment: c["scores"]["sentiment"]["label"] == s)
    both = ids(decision="review", min_score=["TOXICITY:0", "TOXICITY:0.000001"], sentiment="negative")
    assert both == expected(
        lambda c: c["decision"]["action"] == "review" and c["scores"]["sentiment"]["label"] == "negative"
    )
    assert ids(min_score="INSULT:0.5") == expected(lambda c: c["scores"]["attributes"]["INSULT"] >= 0.5)
    assert ids(min_score="NOT_AN_ATTRIBUTE:0.5") == []  # no stored score has it
    for bad in ({"decision": "maybe"}, {"min_score": "toxicity:0.5"}, {"min_score": "TOXICITY:1.5"}, {"stance": "x"}):
        problem(client.get(url, params=bad), 422)


MIXED = (
    "The islands belong to Japan, and the talks will not change that.",
    "Die Inseln gehören zu Japan, und die Gespräche werden daran nichts ändern.",
    "Les îles appartiennent au Japon, et les négociations n'y changeront rien.",
    "Die Regierung in Tokio sollte endlich mit Moskau über die Inseln verhandeln.",
    "👍👍",
)


def test_a_stored_thread_has_its_languages_detected_shown_and_filterable(client: Client) -> None:
    body = thread_json(texts=MIXED, body=["The talks between Tokyo and Moscow on the Kuril islands stalled again."])
    body["comments"][2]["language"] = "fr"  # given by the source: kept, without a confidence
    (summary,) = post(client, body)
    assert summary["language"] == "en"  # the article's, detected from its title and body
    assert summary["counts"]["languages"] == {"de": 2, "en": 1, "fr": 1, "und": 1}
    url = f"/v1/threads/{summary['id']}/comments"
    comments = walk(client, url)
    assert [c["language"] for c in comments] == ["en", "de", "fr", "de", None]
    confidences = [c["language_confidence"] for c in comments]
    assert all(0 < value <= 1 for value in confidences[:2] + confidences[3:4])
    assert confidences[2] is None and confidences[4] is None

    def texts(**params: Any) -> list[str]:
        return [c["text"] for c in walk(client, url, **params)]

    assert texts(language="de") == [MIXED[1], MIXED[3]]
    assert texts(language="und") == [MIXED[4]]
    assert texts(language="ja") == []
    # With other filters, all must hold: only the English comment names the policy's suspect "islands".
    assert texts(language="en", decision="review") == [MIXED[0]]
    assert texts(language="de", decision="review") == []
    for bad in ("DE", "english", "e", "d1", "de-AT", ""):
        errors = problem(client.get(url, params={"language": bad}), 422)["errors"]
        assert errors[0]["loc"] == ["query", "language"]
    # Re-posting keeps each language; the thread's detail shows the article's.
    post(client, body)
    assert [c["language"] for c in walk(client, url)] == ["en", "de", "fr", "de", None]
    assert client.get(f"/v1/threads/{summary['id']}").json()["language"] == "en"


def test_the_openapi_schema_documents_the_language_filter_and_fields(client: Client) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/v1/threads/{thread_id}/comments", "/v1/queue"):
        (parameter,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "language"]
        assert "ISO 639-1" in parameter["description"] and "und" in parameter["description"]
    components = schema["components"]["schemas"]
    assert {"language", "language_confidence"} <= set(components["CommentOut"]["properties"])
    assert {"language", "language_confidence"} <= set(components["ScoredComment"]["properties"])
    assert "language" in components["service__schemas__threads__ThreadSummary"]["properties"]
    assert "languages" in components["service__schemas__threads__Counts"]["properties"]
