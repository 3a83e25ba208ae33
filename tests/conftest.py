"""Shared fixtures: the shared-data folder, tiny encoder and classifier checkpoints built here, tiny task data."""

from __future__ import annotations

import csv
import gzip
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from moderation.storage import make_engine
from tests.browser import Browser, find_chromium

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "japantoday_lavrov.txt"
SHARED_DATA = Path(os.environ.get("MODERATION_DATA_DIR", REPO.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


POSTGRES_URL = os.environ.get("MODERATION_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema on MODERATION_TEST_POSTGRES_URL's server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES_URL:
        message = "MODERATION_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server and sets it)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must test PostgreSQL")
        pytest.skip(message)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; skipped with a reason when absent, a failure under CI."""
    if not (SHARED_DATA / "tweeteval").is_dir():
        message = f"shared data not found at {SHARED_DATA} (clone the repo beside ../shared)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must have it")
        pytest.skip(message)
    return SHARED_DATA


WORDS = (
    "good great love happy nice bad awful hate sad terrible idiot stupid kill the a is are i "
    "you we they this that it not very movie food people policy tax war peace vote support oppose"
).split()


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", *WORDS]


def _tiny_bert_config(**extra: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=512,
        **extra,
    )


def _save_tiny_tokenizer(folder: Path) -> None:
    from transformers import BertTokenizer

    BertTokenizer(vocab={word: i for i, word in enumerate(VOCAB)}, do_lower_case=True).save_pretrained(folder)


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT with a 40-word vocabulary, saved like any hub checkpoint."""
    import torch
    from transformers import BertModel

    folder = tmp_path_factory.mktemp("tiny-encoder")
    torch.manual_seed(0)
    BertModel(_tiny_bert_config()).save_pretrained(folder)
    _save_tiny_tokenizer(folder)
    return folder


#: Saves a tiny BertForSequenceClassification: (id2label, problem_type=None) -> its folder.
TinyClassifier = Callable[..., Path]


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory) -> TinyClassifier:
    """Random 2-layer classifiers with any labels; the same number of labels gives the same weights."""
    import torch
    from transformers import BertForSequenceClassification

    def make(id2label: dict[int, str], problem_type: str | None = None) -> Path:
        folder = tmp_path_factory.mktemp("tiny-classifier")
        torch.manual_seed(0)
        label2id = {name: index for index, name in id2label.items()}
        # Wide initial weights, so different inputs give visibly different probabilities.
        config = _tiny_bert_config(
            id2label=id2label, label2id=label2id, problem_type=problem_type, initializer_range=0.5
        )
        BertForSequenceClassification(config).save_pretrained(folder)
        _save_tiny_tokenizer(folder)
        return folder

    return make


@pytest.fixture(scope="session")
def tiny_sentiment_dir(tiny_classifier: TinyClassifier) -> Path:
    return tiny_classifier({0: "negative", 1: "neutral", 2: "positive"})


@pytest.fixture(scope="session")
def tiny_generic_dir(tiny_classifier: TinyClassifier) -> Path:
    """Generic LABEL_n names, which must not be guessed."""
    return tiny_classifier({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})


@pytest.fixture(scope="session")
def tiny_toxicity_dir(tiny_classifier: TinyClassifier) -> Path:
    """A multi-label checkpoint with Jigsaw's label names, like toxic-bert."""
    names = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
    return tiny_classifier(dict(enumerate(names)), "multi_label_classification")


@pytest.fixture(scope="session")
def tiny_nli_dir(tiny_classifier: TinyClassifier) -> Path:
    return tiny_classifier({0: "contradiction", 1: "neutral", 2: "entailment"})


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Task files in the shared folder's own layout, with words the tiny vocabulary knows."""
    root = tmp_path_factory.mktemp("tiny-data")
    sentiment = {0: "bad awful sad hate", 1: "the policy is a tax", 2: "good great happy love"}
    offensive = {0: "we love the movie", 1: "you stupid idiot"}
    for split in ("train", "val", "test"):
        n = 30 if split == "train" else 12
        labels = [i % 3 for i in range(n)]
        texts = [f"{sentiment[y]} {WORDS[(i * 7) % len(WORDS)]}" for i, y in enumerate(labels)]
        if split == "train":
            rows = [f"{i}\t{y}\tx\tx\t{t}" for i, (y, t) in enumerate(zip(labels, texts, strict=True))]
            tsv = root / "tweeteval/sentiment/train_reconstructed_from_semeval2017.tsv.gz"
            tsv.parent.mkdir(parents=True, exist_ok=True)
            tsv.write_bytes(
                gzip.compress("\n".join(["tweet_id\tlabel\tlabel_name\tsource_file\ttext", *rows]).encode())
            )
        else:
            _write(root / f"tweeteval/sentiment/{split}_text.txt", texts)
            _write(root / f"tweeteval/sentiment/{split}_labels.txt", [str(y) for y in labels])
        binary = [i % 2 for i in range(n)]
        _write(root / f"tweeteval/offensive/{split}_text.txt", [offensive[y] for y in binary])
        _write(root / f"tweeteval/offensive/{split}_labels.txt", [str(y) for y in binary])
    stance = {0: "i oppose this war", 1: "we support peace", 2: "the vote is today"}
    for name, n in (("vast_train", 30), ("vast_dev_reduced", 12), ("vast_test", 12)):
        (root / "vast").mkdir(exist_ok=True)
        with gzip.open(root / f"vast/{name}.csv.gz", "wt", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["post", "topic_str", "label", "seen?"])
            for i in range(n):
                writer.writerow([stance[i % 3], "war" if i % 2 else "peace", i % 3, 1])
    for folder in ("abortion", "atheism", "climate", "feminist", "hillary"):
        for split in ("train", "val", "test"):
            _write(root / f"tweeteval/stance/{folder}/{split}_text.txt", [stance[i % 3] for i in range(6)])
            # TweetEval stance: 0 none, 1 against, 2 favor.
            _write(root / f"tweeteval/stance/{folder}/{split}_labels.txt", [str((1, 2, 0)[i % 3]) for i in range(6)])
    _write_attribute_data(root)
    return root


def _write_attribute_data(root: Path) -> None:
    """Civil Comments toxic spans (ACL 2022 + SemEval-2021 split files) and Wikipedia CAT-LARGE, tiny."""
    kinds = {
        "you stupid idiot": ("Insult", True),
        "i will kill you": ("Threat", False),
        "they are awful people": ("Identity based Attack", False),
        "the terrible food": ("Profane/Obscene", False),
        "we love the movie": (None, False),
        "the food is very nice": (None, False),
    }
    spans_root = root / "civil_comments_toxic_spans"
    comments, annotations, spans = (
        ["comment_id,comment_text"],
        ["annotation,comment_id,worker,country,all toxic,not toxic"],
        ["annotation,type,start,end"],
    )
    semeval: dict[str, list[str]] = {"trial": ["spans,text"], "test": ["spans,text"]}
    for i in range(60):
        text = f"{list(kinds)[i % 6]} {WORDS[i % len(WORDS)]}"
        kind, whole = kinds[list(kinds)[i % 6]]
        comments.append(f"{i},{text}")
        for rater in range(3):
            annotation = i * 3 + rater
            annotations.append(f"{annotation},{i},{rater},USA,{whole},{kind is None}")
            if kind is not None:
                spans.append(f"{annotation},{kind},0,4")
        if i % 10 in (8, 9):
            semeval["trial" if i % 10 == 8 else "test"].append(f'"[0, 1, 2]",{text}')
    _write(spans_root / "acl2022/comments.csv", comments)
    _write(spans_root / "acl2022/annotations.csv", annotations)
    _write(spans_root / "acl2022/spans.csv", spans)
    for name, lines in semeval.items():
        _write(spans_root / f"semeval2021/tsd_{name}.csv", lines)
    wiki = root / "wikipedia_toxicity_in_context"
    rows = ["id,text,parent,label,api"] + [
        f"{i},{'you stupid idiot' if i % 5 == 0 else 'we support peace'},,{int(i % 5 == 0)},0.5" for i in range(60)
    ]
    _write(wiki / "cat_large_gc_in_context.csv", rows)
    _write(wiki / "cat_large_gn_out_of_context.csv", rows[:1] + [r.replace(",", "0,", 1) for r in rows[1:]])
    # Davidson's hate votes: the SEVERE_TOXICITY positives (Civil Comments only rules it out), and the TweetEval
    # hate test split that the leakage guard of every new source reads.
    tweets = [",count,hate_speech,offensive_language,neither,class,tweet"]
    for i, word in enumerate(WORDS):
        votes, text = ("2,0,1,0", "they are awful people") if i % 2 else ("0,1,2,2", "we love the movie")
        tweets.append(f"{i},3,{votes},{text} {word}")
    _write(root / "davidson_hate_offensive/labeled_data.csv", tweets)
    _write(root / "tweeteval/hate/test_text.txt", ["you stupid idiot"])
    _write(root / "tweeteval/hate/test_labels.txt", ["1"])


@pytest.fixture(scope="session")
def bundled_scorer() -> Any:
    """The bundled model, loaded once for every service test."""
    from moderation import Scorer

    return Scorer.load()


@pytest.fixture
def make_client(tmp_path: Path, bundled_scorer: Any) -> Iterator[Callable[..., Any]]:
    """``make_client(scopes=("read", "write", "moderate"), **settings)`` -> a TestClient on a fresh
    SQLite database whose requests carry a new key with those scopes (``scopes=None``: no key)."""
    from fastapi.testclient import TestClient

    from moderation import keys
    from moderation.storage import transaction
    from service.app import create_app
    from service.config import Settings

    clients: list[Any] = []

    def make(scopes: tuple[str, ...] | None = ("read", "write", "moderate"), **settings: Any) -> Any:
        database = tmp_path / f"service-{len(clients)}.db"
        app = create_app(Settings(database_url=f"sqlite:///{database}", **settings), scorer=bundled_scorer)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        if scopes is not None:
            with transaction(app.state.app_state.engine) as session:
                token = keys.create_key(session, "test", scopes).token
            client.headers["Authorization"] = f"Bearer {token}"
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


class LiveServer:
    """A uvicorn process serving ``service.app:create_app`` on a free loopback port, and a key for its database."""

    def __init__(self, process: Any, base_url: str, token: str, database: Path, log: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.token = token
        self.database = database
        self.log = log

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def wait_ready(self, timeout_s: float) -> bool:
        """True once /readyz answers 200 (model loaded, database reachable); False if the process ends first."""
        import time

        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=5).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        return False

    def kill(self) -> None:
        """SIGKILL: no shutdown and no cleanup, as a crash, a power cut of the process or the OOM killer."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL if it takes more than 30 s."""
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:] if self.log.exists() else ""


#: ``start_server(database=None, *, token=None, env=None, factory=..., **settings) -> LiveServer``.
StartServer = Callable[..., LiveServer]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartServer]:
    """``start_server(database=None, *, token=None, env=None, factory=..., **settings)`` -> a ready :class:`LiveServer`.

    A real ``python -m uvicorn --factory service.app:create_app`` in a subprocess on a free 127.0.0.1 port,
    on the SQLite file ``database`` (a new one when left out). ``token=None`` creates a key with every scope
    first, as an operator would with ``moderation keys create``; pass the old token to restart on the same
    database. ``settings`` become ``MODERATION_*`` variables (``batch_wait_ms=0`` ->
    ``MODERATION_BATCH_WAIT_MS=0``); other ``MODERATION_*`` variables of the test run are not passed on;
    ``env`` adds other variables (``OMP_NUM_THREADS``); ``factory`` serves another app factory (a test's own
    wrapper of ``create_app``).
    Every server still running is stopped when the module's tests end."""
    import subprocess
    import sys

    from moderation import keys
    from moderation.storage import transaction

    folder = tmp_path_factory.mktemp("live-server")
    servers: list[LiveServer] = []

    def start(
        database: Path | None = None,
        *,
        token: str | None = None,
        env: dict[str, str] | None = None,
        factory: str = "service.app:create_app",
        **settings: Any,
    ) -> LiveServer:
        database = database or folder / f"server-{len(servers)}.db"
        url = f"sqlite:///{database}"
        if token is None:
            engine = make_engine(url)
            try:
                with transaction(engine) as session:
                    token = keys.create_key(session, "live server", keys.SCOPES).token
            finally:
                engine.dispose()
        variables = {name: value for name, value in os.environ.items() if not name.startswith("MODERATION_")}
        variables.update(DATABASE_URL=url, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
        variables.update({f"MODERATION_{name.upper()}": str(value) for name, value in settings.items()})
        variables.update(env or {})
        for attempt in range(3):  # another process may take the free port before uvicorn binds it
            port = _free_port()
            log = folder / f"server-{len(servers)}.log"
            command = [sys.executable, "-m", "uvicorn", "--factory", factory]
            command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            command += ["--timeout-graceful-shutdown", "5"]
            with log.open("wb") as output:
                process = subprocess.Popen(command, cwd=REPO, env=variables, stdout=output, stderr=subprocess.STDOUT)
            server = LiveServer(process, f"http://127.0.0.1:{port}", token, database, log)
            servers.append(server)
            if server.wait_ready(timeout_s=300):
                return server
            server.stop()
            if attempt == 2 or "address already in use" not in server.log_tail().lower():
                break
        pytest.fail(f"the server did not become ready:\n{server.log_tail()}")

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def tiny_models_config(
    tmp_path_factory: pytest.TempPathFactory, tiny_sentiment_dir: Path, tiny_nli_dir: Path, tiny_toxicity_dir: Path
) -> Path:
    """A moderation.toml answering every task with the tiny checkpoints, for tests about the HTTP layer and
    storage rather than the model: ``start_server(models_config=..., env=ONE_THREAD)`` scores in milliseconds."""
    config = tmp_path_factory.mktemp("tiny-models") / "moderation.toml"
    config.write_text(
        f'[models.sentiment]\nkind = "sequence-classification"\ncheckpoint = "{tiny_sentiment_dir}"\n\n'
        f'[models.stance]\nkind = "zero-shot-nli"\ncheckpoint = "{tiny_nli_dir}"\n\n'
        f'[models.toxicity]\nkind = "sequence-classification"\ncheckpoint = "{tiny_toxicity_dir}"\n',
        encoding="utf-8",
    )
    return config


#: Tiny models have nothing to spread over threads; on a busy machine torch's thread pool makes them 10x slower.
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium executable; skipped with the reason when it is missing, a failure under CI. The tests never
    install it: ``.ci/run`` does (Debian's package, as root), and says so."""
    found = find_chromium()
    if found is None:
        message = "chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the browser tests")
        pytest.skip(message)
    return found


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    """A headless Chromium with one page open and no network beyond 127.0.0.1 (tests/browser.py)."""
    started = Browser(chromium, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        started.open_page()
        yield started
    finally:
        started.close()
