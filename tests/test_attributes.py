"""Perspective attributes: rater fractions from the shared layout, heads that answer them, fine-tuning."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moderation import Scorer
from moderation.errors import DataError
from moderation.models.encoder import Encoder
from moderation.models.heads import ENCODER_WEIGHTS, HeadSet
from moderation.scores import ATTRIBUTES
from moderation.training.attribute_data import (
    CIVIL_COMMENTS,
    CONAN,
    DAVIDSON,
    EDOS,
    ETHOS,
    GUARDED,
    IMPLICIT_HATE,
    REDDIT_MISOGYNY,
    REDDIT_NORMS,
    TRAC,
    TWEETEVAL_OFFENSIVE,
    WIKIPEDIA,
    WRITTEN,
    AttributeSplit,
    load_attribute_data,
    source_names,
)
from moderation.training.attribute_heads import calibration_gap
from moderation.training.attribute_sources import (
    _NORM_FILES,
    _conan_pairs,
    _undo_requoting,
    match_key,
    normal,
    olid_levels,
    pick,
    written_threats,
)
from moderation.training.data import SPLITS, load_benchmark, load_toxic_spans
from moderation.training.frozen_heads import train_heads
from moderation.training.functional import CASES, load_cases
from tests.conftest import WORDS


def _row(data: object, text_start: str, source: str) -> dict[str, float]:
    for text, row, src in zip(data.texts, data.fractions, data.sources, strict=True):  # type: ignore[attr-defined]
        if text.startswith(text_start) and src == source:
            return dict(zip(ATTRIBUTES, row.tolist(), strict=True))
    raise AssertionError(f"no {text_start!r} from {source}")


def test_civil_comments_fractions_come_from_rater_span_types(tiny_data_dir: Path) -> None:
    train = load_attribute_data("train", tiny_data_dir)
    insult = _row(train, "you stupid idiot", CIVIL_COMMENTS)
    assert insult["INSULT"] == 1.0 and insult["TOXICITY"] == 1.0 and insult["THREAT"] == 0.0
    threat = _row(train, "i will kill you", CIVIL_COMMENTS)
    assert threat["THREAT"] == 1.0 and threat["INSULT"] == 0.0
    civil = _row(train, "we love the movie", CIVIL_COMMENTS)
    assert civil["TOXICITY"] == 0.0


def test_civil_comments_only_rule_severe_toxicity_out(tiny_data_dir: Path) -> None:
    """No rater question asks for it: "the whole post is toxic" is not severity, so a toxic post leaves it unknown."""
    train = load_attribute_data("train", tiny_data_dir)
    assert np.isnan(_row(train, "you stupid idiot", CIVIL_COMMENTS)["SEVERE_TOXICITY"])
    assert _row(train, "we love the movie", CIVIL_COMMENTS)["SEVERE_TOXICITY"] == 0.0


def test_a_toxic_label_alone_leaves_the_other_attributes_unknown(tiny_data_dir: Path) -> None:
    data = load_attribute_data("train", tiny_data_dir)
    toxic = _row(data, "you stupid idiot", WIKIPEDIA)
    assert toxic["TOXICITY"] == 1.0 and all(np.isnan(toxic[a]) for a in ATTRIBUTES[1:])
    civil = _row(data, "we support peace", WIKIPEDIA)
    assert all(civil[a] == 0.0 for a in ATTRIBUTES)


def test_semeval_test_posts_never_reach_training(tiny_data_dir: Path) -> None:
    lines = (tiny_data_dir / "civil_comments_toxic_spans/semeval2021/tsd_test.csv").read_text().splitlines()[1:]
    test_texts = {line.rsplit('",', 1)[1] for line in lines}
    train = load_attribute_data("train", tiny_data_dir)
    test = load_attribute_data("test", tiny_data_dir)
    assert not test_texts & set(train.texts)
    assert test_texts <= set(test.source(CIVIL_COMMENTS).texts)


def test_calibration_gap_is_zero_when_scores_equal_rater_shares() -> None:
    fractions = np.array([0.0, 1 / 3, 2 / 3, 1.0] * 10)
    assert calibration_gap(fractions, fractions) == pytest.approx(0.0)
    assert calibration_gap(np.full(40, 0.9), fractions) > 0.3


def _with_tiny_davidson(data_dir: Path, folder: Path) -> Path:
    """A copy of ``data_dir`` with a tiny Davidson file, whose hate votes are now the only SEVERE_TOXICITY
    positives there, and the TweetEval hate test split that its leakage guard reads."""
    root = Path(shutil.copytree(data_dir, folder / "data"))
    tweets = [",count,hate_speech,offensive_language,neither,class,tweet"]
    for i, word in enumerate(WORDS):
        votes, text = ("2,0,1,0", "they are awful people") if i % 2 else ("0,1,2,2", "we love the movie")
        tweets.append(f"{i},3,{votes},{text} {word}")
    (root / "davidson_hate_offensive").mkdir(exist_ok=True)
    (root / "davidson_hate_offensive/labeled_data.csv").write_text("\n".join(tweets) + "\n", encoding="utf-8")
    for name, lines in (("text", "you stupid idiot"), ("labels", "1")):
        (root / f"tweeteval/hate/test_{name}.txt").parent.mkdir(parents=True, exist_ok=True)
        (root / f"tweeteval/hate/test_{name}.txt").write_text(lines + "\n", encoding="utf-8")
    return root


def test_absent_sources_are_skipped_by_default_and_refused_by_name(tiny_data_dir: Path, tmp_path: Path) -> None:
    data = load_attribute_data("train", _with_tiny_davidson(tiny_data_dir, tmp_path))
    # The written threats ship with the code: always there.
    assert list(dict.fromkeys(data.sources)) == [CIVIL_COMMENTS, WIKIPEDIA, TWEETEVAL_OFFENSIVE, DAVIDSON, WRITTEN]
    hate = _row(data, "they are awful people", DAVIDSON)
    assert hate["SEVERE_TOXICITY"] == pytest.approx(2 / 3) and np.isnan(hate["TOXICITY"] + hate["IDENTITY_ATTACK"])
    assert data.leaked == {DAVIDSON: 0, WRITTEN: 0}
    assert load_attribute_data("train", tiny_data_dir, sources=[WIKIPEDIA]).sources == [WIKIPEDIA] * 2
    with pytest.raises(DataError, match="missing data file"):
        load_attribute_data("train", tiny_data_dir, sources=[ETHOS])
    with pytest.raises(DataError, match="unknown attribute sources"):
        load_attribute_data("train", tiny_data_dir, sources=["Usenet"])


def test_a_text_in_several_splits_of_a_source_stays_in_test_once() -> None:
    items = [("train", "Same  text", [0.0]), ("test", "same text", [1.0]), ("train", "other", [0.0])]
    items += [("train", "other", [1.0]), ("validation", " ", [0.0])]
    assert pick(items, "test") == (["same text"], [[1.0]])
    assert pick(items, "train") == (["other"], [[0.0]])
    assert pick(items, "validation") == ([], [])


def _written(split: str) -> dict[str, dict[str, float]]:
    texts, rows = written_threats(Path("unused"), split)
    return {text: dict(zip(ATTRIBUTES, fractions, strict=True)) for text, fractions in zip(texts, rows, strict=True)}


def test_written_threats_are_threats_and_their_near_misses_rule_every_attribute_out() -> None:
    written = {split: _written(split) for split in SPLITS}
    everything = {text: fractions for split in written.values() for text, fractions in split.items()}
    threat = _known(everything["Keep talking and I'll put you in hospital."])
    assert threat == {"TOXICITY": 1.0, "THREAT": 1.0}
    assert _known(everything["This budget will kill the high street stone dead."]) == dict.fromkeys(ATTRIBUTES, 0.0)
    assert _known(everything["Shut up, you brainless troll."]) == {"TOXICITY": 1.0, "INSULT": 1.0, "THREAT": 0.0}
    # Every split has threats and near misses, and no text is in two splits.
    for split in written.values():
        assert {fractions["THREAT"] for fractions in split.values()} == {0.0, 1.0}
    assert len(everything) == sum(len(split) for split in written.values())


def test_no_written_comment_is_a_near_copy_of_a_functional_case() -> None:
    """The suite measures what the written threats teach: none of them may be a case in other words."""

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z']+", text.lower()))

    cases = [words(case.text) for case in load_cases(CASES)]
    for text in (text for split in SPLITS for text in _written(split)):
        mine = words(text)
        closest = max(len(mine & case) / len(mine | case) for case in cases)
        assert closest < 0.4, text


def test_implicit_hate_posts_lose_the_corpus_requoting_and_retweet_marker() -> None:
    assert _undo_requoting(' rt estonian pm :  " i don\'t want blacks " " via < well said . "') == (
        'estonian pm :  " i don\'t want blacks " via < well said .'
    )
    assert _undo_requoting('they are ""intruder invaders"".') == 'they are "intruder invaders".'
    assert _undo_requoting("rt : white power !") == "white power !"
    assert _undo_requoting("art is not rt") == "art is not rt"


@pytest.fixture(scope="module")
def tiny_heads(tiny_encoder_dir: Path, tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("heads")
    data = _with_tiny_davidson(tiny_data_dir, tmp_path_factory.mktemp("severe"))
    heads, _ = train_heads(Encoder.load(tiny_encoder_dir), data, seed=0, log=lambda _: None)
    heads.save(folder)
    return folder


def test_scorer_answers_every_attribute_and_flags_the_unmeasured_one(tiny_encoder_dir: Path, tiny_heads: Path) -> None:
    scorer = Scorer.load(tiny_encoder_dir, heads=tiny_heads)
    [scores] = scorer.predict(["you stupid idiot. we love the movie."], spans=True)
    assert set(scores.attributes) == set(ATTRIBUTES)
    assert scores.experimental == ["SEVERE_TOXICITY"]
    assert scores.attributes["TOXICITY"] == pytest.approx(scores.toxicity.probabilities["toxic"], abs=1e-5)
    assert len(scores.spans) == 2 and all(set(span.attributes) == set(ATTRIBUTES) for span in scores.spans)
    manifest = HeadSet.load(tiny_heads).manifest["heads"]
    assert "experimental" in manifest["SEVERE_TOXICITY"] and "experimental" not in manifest["INSULT"]


def test_finetuning_saves_layers_that_the_scorer_loads_back(
    tiny_encoder_dir: Path, tiny_data_dir: Path, tiny_heads: Path, tmp_path: Path
) -> None:
    from moderation.training.finetune import FinetuneConfig, finetune_and_measure

    config = FinetuneConfig(tune_layers=1, epochs=2, items_per_task=24, batch_size=8, lr=1e-3, seed=0)
    encoder = Encoder.load(tiny_encoder_dir)
    before = Scorer.load(tiny_encoder_dir, heads=tiny_heads).predict(["you stupid idiot"])[0]
    _, results = finetune_and_measure(
        encoder, HeadSet.load(tiny_heads), tiny_data_dir, tmp_path / "tuned", config, log=lambda _: None
    )
    assert (tmp_path / "tuned" / ENCODER_WEIGHTS).exists()
    manifest = HeadSet.load(tmp_path / "tuned").manifest
    assert [h["epoch"] for h in manifest["finetune"]["history"]] == [0, 1, 2]
    # The figures written are the saved model's, measured through the Scorer.
    assert {r.task for r in results} == {"sentiment", "stance", "toxicity"}
    assert manifest["heads"]["sentiment"]["test"]["score"] == pytest.approx(results[0].score, abs=1e-4)
    assert all("test_ece" in manifest["heads"][t]["calibration"] for t in ("sentiment", "stance", "toxicity"))
    first = Scorer.load(tiny_encoder_dir, heads=tmp_path / "tuned").predict(["you stupid idiot"])[0]
    again = Scorer.load(tiny_encoder_dir, heads=tmp_path / "tuned").predict(["you stupid idiot"])[0]
    assert first == again
    assert first.attributes != before.attributes
    # Only the top layer was tuned: the saved file holds layer 1 and nothing below.
    from safetensors.numpy import load_file

    keys = load_file(str(tmp_path / "tuned" / ENCODER_WEIGHTS))
    assert keys and all(key.startswith("encoder.layer.1.") for key in keys)


def _tiny_tasks(encoder: Encoder, data_dir: Path, config: Any) -> tuple[list[Any], list[Any]]:
    from moderation.training.finetune import _cache, _Cacher, task_texts

    rng = np.random.default_rng(config.seed)
    cacher = _Cacher(encoder, config)
    log = lambda _: None  # noqa: E731
    train = _cache(cacher, "train", task_texts("train", data_dir, config, rng), log)
    return train, _cache(cacher, "validation", task_texts("validation", data_dir, config, rng), log)


def test_finetuning_drops_head_weights_on_degenerate_features_and_still_learns(
    tiny_encoder_dir: Path, tiny_data_dir: Path, tiny_heads: Path
) -> None:
    """Frozen heads fold a scaler into their weights: a near-constant feature gets a weight near 1e31.
    Kept, its gradients overflow, clipping scales every step to zero and nothing is learned."""
    from moderation.training.finetune import MAX_HEAD_WEIGHT, FinetuneConfig, Finetuner

    heads = HeadSet.load(tiny_heads)
    heads.heads["sentiment"].weight[:, 0] = 3e31
    config = FinetuneConfig(tune_layers=1, epochs=1, items_per_task=24, batch_size=8, lr=1e-3, seed=0)
    encoder = Encoder.load(tiny_encoder_dir)
    train, validation = _tiny_tasks(encoder, tiny_data_dir, config)
    tuner = Finetuner(encoder, heads, config, log=lambda _: None)
    start = [p.detach().clone() for p in tuner.trunk.parameters()]
    weight = tuner.heads.export({})["sentiment"].weight
    assert (weight[:, 0] == 0).all() and np.abs(weight).max() <= MAX_HEAD_WEIGHT
    tuner.fit(train, validation)
    moved = max(float((p.detach() - s).abs().max()) for p, s in zip(tuner.trunk.parameters(), start, strict=True))
    assert moved > 1e-4


def test_a_soup_is_never_worse_on_validation_than_its_best_run(
    tiny_encoder_dir: Path, tiny_data_dir: Path, tiny_heads: Path
) -> None:
    from moderation.training.finetune import FinetuneConfig, _mean_figure, fit_soup

    config = FinetuneConfig(tune_layers=1, epochs=1, items_per_task=24, batch_size=8, lr=1e-3, seed=0, soup=3)
    encoder = Encoder.load(tiny_encoder_dir)
    train, validation = _tiny_tasks(encoder, tiny_data_dir, config)
    soup = fit_soup(encoder, HeadSet.load(tiny_heads), train, validation, config, log=lambda _: None)
    [entry] = soup.history_
    assert entry["epoch"] == "soup" and [m["seed"] for m in entry["members"]] == [0, 1, 2]
    assert entry["seeds"] and set(entry["seeds"]) <= {0, 1, 2}
    assert _mean_figure(entry) >= max(_mean_figure(m) for m in entry["members"])
    assert _mean_figure(soup.validate(validation)) == pytest.approx(_mean_figure(entry))


def test_runs_brought_back_from_their_state_validate_and_soup_as_the_originals(
    tiny_encoder_dir: Path, tiny_data_dir: Path, tiny_heads: Path, tmp_path: Path
) -> None:
    """The GPU driver fits a soup's runs in parallel processes and soups them in another one."""
    import torch

    from moderation.training.finetune import FinetuneConfig, Finetuner, greedy_soup

    config = FinetuneConfig(tune_layers=1, epochs=1, items_per_task=24, batch_size=8, lr=1e-3, seed=0, soup=2)
    encoder = Encoder.load(tiny_encoder_dir)
    heads = HeadSet.load(tiny_heads)
    train, validation = _tiny_tasks(encoder, tiny_data_dir, config)
    log = lambda _: None  # noqa: E731
    runs = [Finetuner(encoder, heads, config.run(k), log).fit(train, validation) for k in (0, 1)]
    back = []
    for run in runs:
        torch.save(run.state(), tmp_path / f"seed{run.config.seed}.pt")
        state = torch.load(tmp_path / f"seed{run.config.seed}.pt")
        back.append(Finetuner.restore(encoder, heads, run.config, state, log))
    assert [b.validate(validation) for b in back] == [
        {k: v for k, v in r.history_[-1].items() if k != "epoch"} for r in runs
    ]
    here = greedy_soup(encoder, heads, runs, validation, config, log)
    there = greedy_soup(encoder, heads, back, validation, config, log)
    assert there.history_ == here.history_
    assert there.temperatures_ == here.temperatures_
    # A soup of one brought-back run is that run, calibrated as it was, and saves.
    alone = greedy_soup(encoder, heads, back[:1], validation, config, log)
    assert alone.temperatures_ == runs[0].temperatures_
    assert alone.save(tmp_path / "alone").heads.keys() == heads.heads.keys()


# --- Every source on the real data (../shared/data), each split loaded once for the module. ---

#: Items per split after the rules: each text once per source (a text in several of its splits only in test),
#: items that say nothing about any attribute left out, benchmark test texts out of train and validation.
EXPECTED_SIZES = {
    CIVIL_COMMENTS: (13220, 689, 2000),  # SemEval-2021 trial (690) and test (2,000); the rest of ACL 2022: train
    WIKIPEDIA: (15892, 1997, 1939),  # 2 x 10,000 CAT-LARGE comments, 80/10/10 by comment id
    TWEETEVAL_OFFENSIVE: (11868, 1321, 848),  # TweetEval's 11,916 / 1,324 / 860 less repeated tweets
    ETHOS: (797, 99, 101),  # 998 comments, 997 distinct, 80/10/10
    EDOS: (14000, 2000, 4000),  # its own split, no repeated text
    IMPLICIT_HATE: (16445, 2099, 2080),  # 21,475 distinct posts less 851 implicit ones without a stage-2 class
    DAVIDSON: (19775, 2473, 2521),  # 24,783 tweets, 24,771 distinct, 2 in a benchmark test split
    # 6,553 unshifted rows, 6,369 entries, less 1 labelled both ways and 144 removed: 6,124 bodies (test 1,247)
    REDDIT_MISOGYNY: (4393, 484, 1247),
    TRAC: (4787, 1204, 617),  # the non-aggressive comments (aggression trains nothing), less repeats and leaks
    CONAN: (10456, 1238, 1376),  # 4,151 hate speech texts, 8,923 counter-narratives less 4 answering two splits
    REDDIT_NORMS: (7530, 958, 961),  # the hate and slur files' comments: positives alone of the rest are unknown
    WRITTEN: (217, 28, 28),  # 273 written comments, 80/10/10 by a hash of the text
}
Labelled = dict[tuple[str, str], tuple[str, dict[str, float]]]


@pytest.fixture(scope="module")
def real(shared_data: Path) -> dict[str, AttributeSplit]:
    return {split: load_attribute_data(split, shared_data) for split in SPLITS}


@pytest.fixture(scope="module")
def labelled(real: dict[str, AttributeSplit]) -> Labelled:
    """(source, normalised text) -> (its split, its fractions by attribute)."""
    return {
        (source, normal(text)): (split, dict(zip(ATTRIBUTES, fractions.tolist(), strict=True)))
        for split, data in real.items()
        for text, fractions, source in zip(data.texts, data.fractions, data.sources, strict=True)
    }


def _csv(path: Path, **dialect: Any) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, **dialect))


def _known(fractions: dict[str, float]) -> dict[str, float]:
    return {a: v for a, v in fractions.items() if not np.isnan(v)}


@pytest.mark.shared_data
def test_every_source_has_its_release_split_sizes_after_the_rules(real: dict[str, AttributeSplit]) -> None:
    assert {name: tuple(data.sources.count(name) for data in real.values()) for name in source_names()} == (
        EXPECTED_SIZES
    )
    # The benchmark texts of TRAC and the norm files were aggressive or attacks: no longer read at all.
    assert real["train"].leaked == {**dict.fromkeys(sorted(GUARDED), 0), DAVIDSON: 2}
    assert real["validation"].leaked == dict.fromkeys(sorted(GUARDED), 0)


@pytest.mark.shared_data
def test_no_training_text_of_a_new_source_is_in_a_benchmark_test_split(
    real: dict[str, AttributeSplit], shared_data: Path
) -> None:
    tweets = ("tweeteval_hate", "tweeteval_offensive", "tweeteval_sentiment")
    tested = {normal(text) for name in tweets for text in load_benchmark(name, "test", shared_data).texts}
    tested |= {normal(text) for text in load_toxic_spans("test", shared_data).texts}
    for split in ("train", "validation"):
        data = real[split]
        assert not [t for t, s in zip(data.texts, data.sources, strict=True) if s in GUARDED and normal(t) in tested]


@pytest.mark.shared_data
def test_olid_levels_make_insults_and_untargeted_swearing_of_tweeteval_offensive(
    real: dict[str, AttributeSplit], shared_data: Path
) -> None:
    levels = olid_levels(shared_data)
    tweeteval: dict[str, dict[str, float]] = {}
    for data in real.values():
        tweets = data.source(TWEETEVAL_OFFENSIVE)
        offensive = [match_key(t) for t, f in zip(tweets.texts, tweets.fractions, strict=True) if f[0] == 1]
        assert sum(key in levels for key in offensive) / len(offensive) > 0.995
        for text, fractions in zip(tweets.texts, tweets.fractions, strict=True):
            tweeteval[match_key(text)] = _known(dict(zip(ATTRIBUTES, fractions.tolist(), strict=True)))
    olid = _csv(shared_data / "olid/olid-training-v1.0.tsv", delimiter="\t", quoting=csv.QUOTE_NONE)

    def first(level: str, label: str) -> list[dict[str, float]]:
        """The first 20 tweets OLID labels so, leaving out any whose repeats OLID labels otherwise."""
        keys = [match_key(tweet["tweet"]) for tweet in olid if tweet[level] == label]
        return [tweeteval[key] for key in keys if key in levels or label == "NOT"][:20]

    swearing = {**dict.fromkeys(ATTRIBUTES, 0.0), "TOXICITY": 1, "PROFANITY": 1}
    assert first("subtask_b", "UNT") == [swearing] * 20
    assert first("subtask_c", "IND") == [{"TOXICITY": 1, "INSULT": 1}] * 20
    assert first("subtask_c", "GRP") == [{"TOXICITY": 1}] * 20  # GRP takes in political groups: no identity attack
    assert first("subtask_a", "NOT") == [dict.fromkeys(ATTRIBUTES, 0.0)] * 20


@pytest.mark.shared_data
def test_edos_threats_are_threats_and_sexism_an_identity_attack(shared_data: Path, labelled: Labelled) -> None:
    posts = {p["label_vector"][:4]: p for p in _csv(shared_data / "edos_sexism/edos_labelled_aggregated.csv")}
    splits = {"train": "train", "dev": "validation", "test": "test"}
    split, threat = labelled[(EDOS, normal(posts["1.1 "]["text"]))]
    assert split == splits[posts["1.1 "]["split"]]
    # Toxic and insulting only ever where sexist: one-sided here, so unknown.
    assert _known(threat) == dict.fromkeys(("SEVERE_TOXICITY", "THREAT", "IDENTITY_ATTACK"), 1.0)
    assert labelled[(EDOS, normal(posts["1.2 "]["text"]))][1]["THREAT"] == 1
    insult = _known(labelled[(EDOS, normal(posts["3.1 "]["text"]))][1])
    assert insult == {"SEVERE_TOXICITY": 0, "THREAT": 0, "IDENTITY_ATTACK": 1}
    subtle = _known(labelled[(EDOS, normal(posts["3.3 "]["text"]))][1])
    assert subtle == {"SEVERE_TOXICITY": 0, "THREAT": 0, "IDENTITY_ATTACK": 0.5}
    assert _known(labelled[(EDOS, normal(posts["none"]["text"]))][1]) == {"IDENTITY_ATTACK": 0}


@pytest.mark.shared_data
def test_conan_counter_narratives_are_civil_and_in_their_hate_speech_split(
    shared_data: Path, labelled: Labelled
) -> None:
    pairs = _conan_pairs(shared_data / "conan_counter_narratives")
    families: dict[str, set[str]] = {}
    replies = 0
    for family, hate, reply in pairs:
        split, fractions = labelled[(CONAN, normal(hate))]
        assert _known(fractions) == {"TOXICITY": 1, "IDENTITY_ATTACK": 1}
        families.setdefault(family, set()).add(split)
        if (CONAN, normal(reply)) in labelled:
            replies += 1
            assert labelled[(CONAN, normal(reply))] == (split, dict.fromkeys(ATTRIBUTES, 0.0))
    assert replies > 0.99 * len(pairs)
    assert all(len(splits) == 1 for splits in families.values())  # paraphrases go with their original
    french = next(p for p in _csv(shared_data / "conan_counter_narratives/CONAN.csv") if p["cn_id"][:2] == "FR")
    assert (CONAN, normal(french["hateSpeech"])) not in labelled


@pytest.mark.shared_data
def test_davidson_fractions_are_the_vote_shares(shared_data: Path, labelled: Labelled) -> None:
    tweets = _csv(shared_data / "davidson_hate_offensive/labeled_data.csv")
    mixed = next(t for t in tweets if t["count"] == "6" and t["hate_speech"] != "0" and t["neither"] != "0")
    hate, offensive = int(mixed["hate_speech"]), int(mixed["offensive_language"])
    shares = _known(labelled[(DAVIDSON, normal(mixed["tweet"]))][1])
    assert offensive and shares == pytest.approx({"SEVERE_TOXICITY": hate / 6})
    neither = next(t for t in tweets if t["neither"] == t["count"] and "&amp;" in t["tweet"])
    clean = _known(labelled[(DAVIDSON, normal(neither["tweet"].replace("&amp;", "&")))][1])
    assert clean == {a: 0.0 for a in ATTRIBUTES if a != "TOXICITY"}


@pytest.mark.shared_data
def test_ethos_hate_share_is_the_identity_attack_and_violence_the_threat(shared_data: Path, labelled: Labelled) -> None:
    comments = {normal(c["comment"]): c for c in _csv(shared_data / "ethos/Ethos_Dataset_Binary.csv", delimiter=";")}
    for hateful in _csv(shared_data / "ethos/Ethos_Dataset_Multi_Label.csv", delimiter=";")[:30]:
        share = float(comments[normal(hateful["comment"])]["isHate"])
        fractions = labelled[(ETHOS, normal(hateful["comment"]))][1]
        assert fractions["IDENTITY_ATTACK"] == share and fractions["THREAT"] == float(hateful["violence"])
        # Rated only where hateful, toxicity, severity and insult are one-sided here: unknown.
        assert all(np.isnan(fractions[a]) for a in ("TOXICITY", "SEVERE_TOXICITY", "INSULT", "PROFANITY"))
    mild = next(c for c in comments.values() if 0 < float(c["isHate"]) < 0.5)
    assert _known(labelled[(ETHOS, normal(mild["comment"]))][1]) == {"IDENTITY_ATTACK": float(mild["isHate"])}


@pytest.mark.shared_data
def test_implicit_hate_classes_map_to_identity_attacks_and_weak_threats(shared_data: Path, labelled: Labelled) -> None:
    classes = {
        normal(_undo_requoting(p["post"])): p["implicit_class"]
        for p in _csv(shared_data / "implicit_hate/implicit_hate_v1_stg2_posts.tsv", delimiter="\t")
    }
    found: dict[str, dict[str, float]] = {}
    for post in _csv(shared_data / "implicit_hate/implicit_hate_v1_stg1_posts.tsv", delimiter="\t"):
        key = normal(_undo_requoting(post["post"]))
        kind = classes.get(key, "none") if post["class"] == "implicit_hate" else post["class"]
        if kind not in found and (IMPLICIT_HATE, key) in labelled:
            found[kind] = _known(labelled[(IMPLICIT_HATE, key)][1])
    assert found["explicit_hate"] == {"IDENTITY_ATTACK": 1}  # toxic and severe only ever: one-sided, unknown
    assert found["not_hate"] == {"THREAT": 0, "IDENTITY_ATTACK": 0}
    assert found["threatening"] == {"THREAT": 0.3, "IDENTITY_ATTACK": 1}
    assert found["stereotypical"] == {"THREAT": 0, "IDENTITY_ATTACK": 1}
    assert found["white_grievance"] == {"THREAT": 0}
    assert "none" not in found  # an implicit post without a stage-2 class says nothing


@pytest.mark.shared_data
def test_misogyny_entries_join_their_rows_labels(shared_data: Path, labelled: Labelled) -> None:
    rows: dict[str, list[dict[str, str]]] = {}
    for entry in _csv(shared_data / "reddit_misogyny_eacl2021/final_labels.csv"):
        rows.setdefault(entry["entry_id"], []).append(entry)

    def fractions(*level_2: str, level_3: str = "") -> dict[str, float]:
        entry = next(
            e for e in rows.values() if {r["level_2"] for r in e} == set(level_2) and level_3 in e[-1]["level_3"]
        )
        return _known(labelled[(REDDIT_MISOGYNY, normal(entry[0]["body"]))][1])

    joined = fractions("Misogynistic_pejorative", "Misogynistic_personal_attack")
    assert joined == {"INSULT": 1, "THREAT": 0, "IDENTITY_ATTACK": 1}
    assert fractions("Treatment", level_3="Threatening") == {"THREAT": 1, "IDENTITY_ATTACK": 1}
    assert fractions("Counter_speech") == dict.fromkeys(ATTRIBUTES, 0.0)
    assert fractions("None_of_the_categories") == {"INSULT": 0, "IDENTITY_ATTACK": 0}
    assert fractions("Nonmisogynistic_personal_attack") == {"INSULT": 1}


@pytest.mark.shared_data
def test_trac_aggression_levels_and_a_text_repeated_in_its_gold_set_tested_only(
    shared_data: Path, labelled: Labelled
) -> None:
    folder = shared_data / "trac1_aggression"
    with (folder / "trac-gold-set/agr_en_fb_gold.csv").open(encoding="utf-8", newline="") as handle:
        gold = {normal(text): label for _, text, label in csv.reader(handle)}
    with (folder / "english/agr_en_train.csv").open(encoding="utf-8", newline="") as handle:
        repeated = next(text for _, text, _ in csv.reader(handle) if gold.get(normal(text)) == "NAG")
    assert labelled[(TRAC, normal(repeated))][0] == "test"
    for key, label in list(gold.items())[:50]:
        if label == "NAG":
            assert _known(labelled[(TRAC, key)][1]) == {a: 0.0 for a in ATTRIBUTES if a != "TOXICITY"}
        else:  # aggression is not toxicity: nothing to train on
            assert (TRAC, key) not in labelled


@pytest.mark.shared_data
def test_a_removed_comment_in_several_norm_files_has_each_files_labels(shared_data: Path, labelled: Labelled) -> None:
    folder = shared_data / "reddit_norm_violations"
    attacks = set((folder / "macro-norm-violations-n10-t8-personal-attacks.csv").read_text().split("\n")) - {""}
    slurs = (folder / "macro-norm-violations-n15-t2-hatespeech-racist-homophobic.csv").read_text().split("\n")
    both = next(text for text in slurs if text in attacks)
    # Its toxicity and insult are only ever present in these files: one-sided, so unknown.
    assert _known(labelled[(REDDIT_NORMS, normal(both))][1]) == {"IDENTITY_ATTACK": 0.35}
    kept = {normal(text) for name in _NORM_FILES for text in (folder / name).read_text().split("\n")}
    porn = {normal(text) for text in (folder / "macro-norm-violations-n10-t5-porno-links.csv").read_text().split("\n")}
    assert porn - kept and not any((REDDIT_NORMS, key) in labelled for key in porn - kept)
