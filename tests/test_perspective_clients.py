"""Perspective's clients, unmodified, against a real desk (uvicorn on 127.0.0.1, the bundled model):

- Google's ``google-api-python-client``, built from the desk's discovery document exactly as Perspective's
  documented Python sample builds it, with only the discovery URL changed: analyze, an error, suggestscore;
- PyPI's ``perspectiveapi`` (1.1), which hard-codes Google's host and asks for SEXUALLY_EXPLICIT and
  FLIRTATION among its attributes, through the recipe in docs/perspective.md run as written there, on a
  desk started with ``MODERATION_PERSPECTIVE_DROP_UNSUPPORTED``.

No request leaves the machine: the Google client gets an ``httplib2.Http`` without a proxy, and the recipe
sends perspectiveapi's requests to the test server instead of Google's host.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from moderation.feedback import text_digest
from tests.conftest import REPO, LiveServer, StartServer

pytestmark = pytest.mark.slow

COMMENT = "What kind of idiot name is foo? Sorry, I like your name."
#: The placeholders of the recipe in docs/perspective.md: the desk's address and a desk key.
RECIPE_DESK = "http://127.0.0.1:8000"
RECIPE_KEY = "YOUR_DESK_KEY"


@pytest.fixture(scope="module")
def server(start_server: StartServer) -> LiveServer:
    return start_server(perspective_drop_unsupported=True, rate_limit_per_minute=0)


def _google_client(server: LiveServer) -> Any:
    """Built as Perspective's sample builds it; a context manager that closes its connections."""
    import httplib2
    from googleapiclient import discovery

    return discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=server.token,
        discoveryServiceUrl=f"{server.base_url}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        http=httplib2.Http(timeout=120, proxy_info=None),
    )


def test_googles_client_analyzes_from_the_desks_discovery_document(server: LiveServer) -> None:
    # Perspective's sample request, as its documentation writes it.
    analyze_request = {
        "comment": {"text": COMMENT},
        "languages": ["en"],
        "requestedAttributes": {"TOXICITY": {}, "INSULT": {}},
        "spanAnnotations": True,
    }
    with _google_client(server) as client:
        response = client.comments().analyze(body=analyze_request).execute()
    assert set(response["attributeScores"]) == {"TOXICITY", "INSULT"}
    spans = response["attributeScores"]["TOXICITY"]["spanScores"]
    assert [(span["begin"], span["end"]) for span in spans] == [(0, 31), (32, 56)]
    assert response["languages"] == ["en"]


def test_googles_client_raises_perspectives_error(server: LiveServer) -> None:
    from googleapiclient.errors import HttpError

    request = {"comment": {"text": "   "}, "requestedAttributes": {"TOXICITY": {}}}
    with _google_client(server) as client, pytest.raises(HttpError) as raised:
        client.comments().analyze(body=request).execute()
    assert raised.value.status_code == 400
    assert raised.value.reason == "Comment must be non-empty."
    assert raised.value.error_details[0]["errorType"] == "COMMENT_EMPTY"


def test_googles_client_suggests_a_score_that_moderators_can_list(server: LiveServer) -> None:
    suggestion = {
        "comment": {"text": COMMENT},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}},
        "languages": ["en"],
        "communityId": "Coral:https://news.example",
        "clientToken": "comment:7",
    }
    with _google_client(server) as client:
        answer = client.comments().suggestscore(body=suggestion).execute()
    assert answer == {"clientToken": "comment:7", "requestedLanguages": ["en"]}
    listed = httpx.get(
        f"{server.base_url}/v1/feedback", params={"text_sha256": text_digest(COMMENT)}, headers=server.headers
    )
    [item] = listed.json()["items"]
    assert (item["attribute"], item["score"], item["client_token"]) == ("TOXICITY", 1.0, "comment:7")


def _recipe(name: str) -> str:
    """The code block that follows ``<!-- recipe: name -->`` in docs/perspective.md."""
    docs = (REPO / "docs" / "perspective.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- recipe: {name} -->\s*```\w*\n(.*?)```", docs, re.DOTALL)
    assert match, f"docs/perspective.md has no recipe {name}"
    return match[1]


def test_pypis_perspectiveapi_works_with_the_documented_setting_and_recipe(server: LiveServer) -> None:
    code = _recipe("perspectiveapi")
    assert RECIPE_DESK in code and RECIPE_KEY in code
    namespace: dict[str, Any] = {}
    exec(code.replace(RECIPE_DESK, server.base_url).replace(RECIPE_KEY, server.token), namespace)
    namespace["client"]._Perspective__client.close()
    score = namespace["score"]
    # Every attribute the client knows was asked for; those the desk does not score come back as None.
    for scored in ("toxicity", "severe_toxicity", "insult", "threat"):
        assert 0.0 <= getattr(score, scored) <= 1.0
    assert score.sexually_explicit is None and score.flirtation is None
