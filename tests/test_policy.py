"""The moderation policy: its TOML form, word matching, thresholds, links, pre-moderation and decide()."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from moderation.errors import InputError
from moderation.policy import ATTRIBUTES, Decision, Policy, Thresholds, decide

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
FULL_WIDTH_IDIOT = "".join(chr(ord(char) + 0xFEE0) for char in "IDIOT")
BOLD_IDIOT = "".join(chr(0x1D41A + ord(char) - ord("a")) for char in "idiot")  # MATHEMATICAL BOLD SMALL


def words(
    banned: list[str] | None = None,
    suspect: list[str] | None = None,
    *,
    case_sensitive: bool = False,
    match_obfuscated: bool = True,
) -> Policy:
    return Policy(
        banned_words=tuple(banned or ()),
        suspect_words=tuple(suspect or ()),
        case_sensitive=case_sensitive,
        match_obfuscated=match_obfuscated,
    )


def matches(policy: Policy, text: str) -> list[str]:
    """The matched text of every word reason, in order."""
    return [reason.match or "" for reason in decide(policy, text, {}).reasons]


# --- words: boundaries, case, wildcard, phrases ---------------------------------------------------


@pytest.mark.parametrize("text", ["class act", "assistant", "bass guitar", "passes", "sass2"])
def test_words_match_whole_words_only(text: str) -> None:
    assert matches(words(["ass"]), text) == []


@pytest.mark.parametrize("text", ["ass", "what an ass.", "(ass)", "ass's", "you_ass", "«ass»"])
def test_punctuation_and_underscores_are_word_boundaries(text: str) -> None:
    assert matches(words(["ass"]), text) == ["ass"]


def test_matching_ignores_case_by_default() -> None:
    assert matches(words(["idiot"]), "IDIOT, Idiot and idiot") == ["IDIOT", "Idiot", "idiot"]
    assert matches(words(["IDIOT"]), "idiot") == ["idiot"]


def test_case_sensitive_matches_the_case_as_written() -> None:
    policy = words(["Idiot"], case_sensitive=True)
    assert matches(policy, "IDIOT, Idiot and idiot") == ["Idiot"]


def test_a_trailing_star_matches_every_word_with_that_prefix() -> None:
    policy = words(["idiot*"])
    assert matches(policy, "idiot idiots idiotic IDIOTS! myidiot idio") == ["idiot", "idiots", "idiotic", "IDIOTS"]


def test_without_a_star_a_word_does_not_match_longer_words() -> None:
    assert matches(words(["idiot"]), "idiots idiotic") == []


def test_phrases_match_across_any_spaces_hyphens_and_underscores_only() -> None:
    policy = words(["shut up"])
    assert matches(policy, "Shut   up! shut-up shut_up shut\nup") == ["Shut   up", "shut-up", "shut_up", "shut\nup"]
    assert matches(policy, "shutup, shut, up, shutting up") == []


def test_a_star_applies_to_the_last_word_of_a_phrase() -> None:
    assert matches(words(["shut up*"]), "shut uppity") == ["shut uppity"]


def test_every_occurrence_is_reported_with_its_span_in_the_original_text() -> None:
    text = "idiot, pure idiot"
    reasons = decide(words(["idiot"]), text, {}).reasons
    assert [(r.begin, r.end) for r in reasons] == [(0, 5), (12, 17)]
    assert all(text[r.begin : r.end] == "idiot" for r in reasons if r.begin is not None)
    assert reasons[0].word == "idiot" and reasons[0].code == "banned_word"


# --- words: Unicode and obfuscation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        (FULL_WIDTH_IDIOT, FULL_WIDTH_IDIOT),
        (BOLD_IDIOT, BOLD_IDIOT),
        ("id\u200biot", "id\u200biot"),  # zero-width space
        ("idi\u00adot", "idi\u00adot"),  # soft hyphen
    ],
)
def test_nfkc_and_invisible_characters_do_not_hide_a_word(text: str, matched: str) -> None:
    assert matches(words(["idiot"]), f"you {text}!") == [matched]


def test_spans_point_into_the_original_text_when_normalization_changes_its_length() -> None:
    text = "the ﬁlth here"  # one ligature character becomes "fi"
    (reason,) = decide(words(["filth"]), text, {}).reasons
    assert (reason.begin, reason.end, reason.match) == (4, 8, "ﬁlth")


def test_composed_and_decomposed_accents_match_each_other_but_not_the_bare_letter() -> None:
    assert matches(words(["café"]), "cafe\u0301 and café and cafe") == ["cafe\u0301", "café"]


def test_case_folding_expands_sharp_s() -> None:
    assert matches(words(["strasse"]), "STRASSE Straße") == ["STRASSE", "Straße"]


@pytest.mark.parametrize("text", ["i.d.i.o.t", "I D I O T", "i-d-i-o-t", "i . d . i . o . t", "i_d_i_o_t"])
def test_spelled_out_words_are_caught(text: str) -> None:
    assert matches(words(["idiot"]), f"you {text}!") == [text]


@pytest.mark.parametrize("text", ["idiooooot", "iiidiot", "IDIOOOT"])
def test_stretched_words_are_caught(text: str) -> None:
    assert matches(words(["idiot"]), text) == [text]


def test_a_letter_doubled_once_is_another_word_not_a_stretch() -> None:
    assert matches(words(["god"]), "good") == []
    assert matches(words(["good"]), "god") == []
    assert matches(words(["ass"]), "asss") == ["asss"]


def test_a_word_may_start_with_a_doubled_letter() -> None:
    assert matches(words(["llama"]), "lllama llama lama") == ["lllama", "llama"]
    assert matches(words(["llama"], match_obfuscated=False), "lllama llama lama") == ["llama"]


def test_spelled_out_letters_are_read_as_one_word_with_boundaries() -> None:
    assert matches(words(["ass"]), "I a.s.s.u.m.e so") == []


def test_match_obfuscated_false_matches_only_the_plain_spelling() -> None:
    policy = words(["idiot"], match_obfuscated=False)
    assert matches(policy, "i.d.i.o.t idiooot idiot") == ["idiot"]


# --- words: validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["*idiot", "id*ot", "*", "...", "   "])
def test_words_without_letters_or_with_an_inner_star_are_refused(word: str) -> None:
    with pytest.raises(InputError, match="banned_words"):
        Policy.loads(f"banned_words = [{word!r}]".replace("'", '"'))


def test_a_word_listed_twice_is_refused_even_across_lists_and_case() -> None:
    with pytest.raises(InputError, match="repeats"):
        Policy.loads('banned_words = ["idiot"]\nsuspect_words = ["IDIOT"]')
    assert Policy.loads('banned_words = ["idiot"]\nsuspect_words = ["IDIOT"]\ncase_sensitive = true')


# --- thresholds -----------------------------------------------------------------------------------


TOXICITY = Policy(thresholds={"TOXICITY": Thresholds(review=0.5, reject=0.9)})


@pytest.mark.parametrize(
    ("score", "action"),
    [(0.0, "approve"), (0.4999, "approve"), (0.5, "review"), (0.8999, "review"), (0.9, "reject"), (1.0, "reject")],
)
def test_thresholds_are_inclusive(score: float, action: str) -> None:
    assert decide(TOXICITY, "", {"TOXICITY": score}).action == action


def test_a_score_past_reject_gives_one_reject_reason_with_its_evidence() -> None:
    (reason,) = decide(TOXICITY, "", {"TOXICITY": 0.95}).reasons
    assert (reason.code, reason.action, reason.attribute) == ("attribute_reject", "reject", "TOXICITY")
    assert (reason.score, reason.threshold) == (0.95, 0.9)
    assert "0.95" in reason.message and "0.9" in reason.message


def test_an_attribute_may_have_only_one_threshold() -> None:
    review_only = Policy(thresholds={"PROFANITY": Thresholds(review=0.7)})
    assert decide(review_only, "", {"PROFANITY": 1.0}).action == "review"
    reject_only = Policy(thresholds={"THREAT": Thresholds(reject=0.8)})
    assert decide(reject_only, "", {"THREAT": 0.79}).action == "approve"
    assert decide(reject_only, "", {"THREAT": 0.8}).action == "reject"


def test_attributes_without_thresholds_are_ignored_and_missing_ones_listed_as_unscored() -> None:
    policy = Policy(thresholds={"TOXICITY": Thresholds(review=0.5), "THREAT": Thresholds(review=0.5)})
    decision = decide(policy, "", {"TOXICITY": 0.1, "INSULT": 1.0, "something_else": 1.0})
    assert decision.action == "approve"
    assert decision.unscored == ["THREAT"]


@pytest.mark.parametrize("score", [1.5, -0.1, float("nan"), float("inf")])
def test_a_score_outside_zero_to_one_is_an_input_error(score: float) -> None:
    with pytest.raises(InputError, match="TOXICITY"):
        decide(TOXICITY, "", {"TOXICITY": score})


# --- decisions ------------------------------------------------------------------------------------


def test_reject_beats_review_and_every_reason_is_listed_reject_first() -> None:
    policy = Policy(
        thresholds={"TOXICITY": Thresholds(review=0.5, reject=0.9), "INSULT": Thresholds(review=0.5)},
        banned_words=("idiot",),
        suspect_words=("fool",),
        max_links=0,
        premoderate=True,
    )
    decision = decide(policy, "fool, idiot: https://example.com", {"TOXICITY": 0.6, "INSULT": 0.7})
    assert decision.action == "reject"
    codes = [reason.code for reason in decision.reasons]
    assert codes == [
        "banned_word",
        "attribute_review",
        "attribute_review",
        "suspect_word",
        "too_many_links",
        "premoderated",
    ]
    assert [reason.action for reason in decision.reasons] == ["reject"] + ["review"] * 5


def test_review_beats_approve() -> None:
    assert decide(words(suspect=["fool"]), "what a fool", {}).action == "review"
    assert decide(words(suspect=["fool"]), "what a tool", {}) == Decision(
        action="approve", reasons=[], policy_digest=words(suspect=["fool"]).digest
    )


def test_changing_the_policy_re_decides_the_same_stored_scores() -> None:
    scores = {"TOXICITY": 0.7}
    assert decide(TOXICITY, "text", scores).action == "review"
    stricter = Policy(thresholds={"TOXICITY": Thresholds(review=0.3, reject=0.6)})
    decision = decide(stricter, "text", scores)
    assert decision.action == "reject" and decision.policy_digest == stricter.digest != TOXICITY.digest


# --- links and pre-moderation ---------------------------------------------------------------------


def test_more_links_than_the_limit_send_a_comment_to_review() -> None:
    policy = Policy(max_links=3)
    three = "see https://a.example/x, http://b.example and www.c.example"
    assert decide(policy, three, {}).action == "approve"
    (reason,) = decide(policy, three + " or example.com/page", {}).reasons
    assert (reason.code, reason.action, reason.count, reason.limit) == ("too_many_links", "review", 4, 3)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("mail me at reader@example.com", 0),
        ("e.g. Node.js, U.S. and so.In fact", 0),
        ("spam.ru and shop.xyz", 2),
        ("HTTPS://EXAMPLE.ORG/A?B=C", 1),
    ],
)
def test_what_counts_as_a_link(text: str, count: int) -> None:
    decision = decide(Policy(max_links=0), text, {})
    assert [r.count for r in decision.reasons] == ([count] if count else [])


def test_no_max_links_means_no_limit() -> None:
    assert decide(Policy(), " ".join(f"https://x{i}.example" for i in range(50)), {}).action == "approve"


def test_premoderated_threads_send_only_their_comments_to_review() -> None:
    policy = Policy(premoderate_threads=("https://news.example/a",))
    (reason,) = decide(policy, "fine", {}, thread_key="https://news.example/a").reasons
    assert (reason.code, reason.action) == ("premoderated", "review")
    assert decide(policy, "fine", {}, thread_key="https://news.example/b").action == "approve"
    assert decide(policy, "fine", {}).action == "approve"


def test_premoderate_sends_every_comment_to_review_and_a_reject_still_rejects() -> None:
    policy = Policy(premoderate=True, banned_words=("idiot",))
    assert decide(policy, "fine", {}).action == "review"
    assert decide(policy, "idiot", {}).action == "reject"


# --- TOML: load, errors, default, round trip, digest ----------------------------------------------


def test_load_reads_a_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('banned_words = ["idiot*"]\nmax_links = 1\n[thresholds.THREAT]\nreject = 0.8\n', encoding="utf-8")
    policy = Policy.load(path)
    assert policy.banned_words == ("idiot*",) and policy.max_links == 1
    assert policy.thresholds == {"THREAT": Thresholds(reject=0.8)}
    assert policy.premoderate is False and policy.suspect_words == ()


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ("max_link = 3", "max_link: unknown key"),
        ("[thresholds.TOXICITY]\nreview = 0.5\nreveiw = 0.6", "thresholds.TOXICITY.reveiw: unknown key"),
        ("[thresholds.TOXIC]\nreview = 0.5", "thresholds.TOXIC: Input should be 'TOXICITY'"),
        ("[thresholds.toxicity]\nreview = 0.5", "thresholds.toxicity: Input should be 'TOXICITY'"),
    ],
)
def test_unknown_keys_and_attributes_are_errors_naming_the_file_and_key(
    tmp_path: Path, toml: str, problem: str
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        Policy.load(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("review = 1.5", "less than or equal to 1"),
        ("review = -0.1", "greater than or equal to 0"),
        ("review = 0.8\nreject = 0.5", "reject (0.5) is below review (0.8)"),
        ('review = "0.5"', "valid number"),
        ("review = nan", "finite number"),
        ("", "set review, reject or both"),
    ],
)
def test_invalid_thresholds_are_errors(table: str, problem: str) -> None:
    with pytest.raises(InputError, match=r"thresholds\.TOXICITY") as caught:
        Policy.loads(f"[thresholds.TOXICITY]\n{table}\n", source="site.toml")
    assert str(caught.value).startswith("site.toml: invalid policy") and problem in str(caught.value)


@pytest.mark.parametrize("toml", ['premoderate = "yes"', "max_links = -1", "max_links = 2.5", "banned_words = 'idiot'"])
def test_values_of_the_wrong_type_are_errors(toml: str) -> None:
    with pytest.raises(InputError, match="invalid policy"):
        Policy.loads(toml)


def test_bad_toml_and_missing_files_are_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("banned_words = [", encoding="utf-8")
    with pytest.raises(InputError, match=f"{path}: not valid TOML"):
        Policy.load(path)
    with pytest.raises(InputError, match="cannot read policy"):
        Policy.load(tmp_path / "missing.toml")


def test_the_default_policy_acts_on_every_production_attribute_and_no_experimental_one() -> None:
    from moderation.models.heads import HeadSet
    from moderation.models.scorer import BUNDLED_HEADS

    specs = HeadSet.load(BUNDLED_HEADS).manifest["heads"]
    experimental = {name for name, spec in specs.items() if spec.get("experimental")}
    assert experimental, "the bundled model marks its unmeasured attributes experimental"
    assert set(Policy.default().thresholds) == set(ATTRIBUTES) - experimental


def test_the_default_policy_is_packaged_and_conservative() -> None:
    policy = Policy.default()
    assert policy == Policy.load(REPO / "moderation" / "default_policy.toml")
    assert policy.thresholds["TOXICITY"] == Thresholds(review=0.5, reject=0.9)
    assert all(t.reject is None or t.reject >= 0.8 for t in policy.thresholds.values())
    assert (policy.max_links, policy.premoderate, policy.banned_words, policy.suspect_words) == (3, False, (), ())
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "default_policy.toml" in package_data["moderation"]


@pytest.mark.parametrize(
    "policy",
    [
        Policy(),
        Policy.default(),
        Policy(
            thresholds={"TOXICITY": Thresholds(review=0.0, reject=1.0), "THREAT": Thresholds(reject=0.123456789)},
            banned_words=('say "no"', "back\\slash", "tab\there", "ﬁlth", "idiot*", "d\x7fel"),
            suspect_words=("shut up",),
            case_sensitive=True,
            match_obfuscated=False,
            max_links=0,
            premoderate=True,
            premoderate_threads=("https://news.example/a?b=c", "title|2026-01-02"),
        ),
    ],
)
def test_to_toml_round_trips_through_loads(policy: Policy) -> None:
    text = policy.to_toml()
    assert Policy.loads(text) == policy
    assert Policy.loads(text).to_toml() == text


def test_to_toml_writes_a_file_that_load_reads(tmp_path: Path) -> None:
    path = tmp_path / "tuned.toml"
    tuned = Policy(thresholds={"TOXICITY": Thresholds(review=0.42)})
    path.write_text(tuned.to_toml(), encoding="utf-8")
    assert Policy.load(path) == tuned


def test_the_digest_is_stable_and_changes_with_anything_that_changes_decisions() -> None:
    base = Policy(thresholds={"TOXICITY": Thresholds(review=0.5, reject=0.9)}, banned_words=("a1", "b2"))
    assert base.digest == "017532fd4283"  # stored decisions name their policy by it: keep it stable
    assert Policy.loads(base.to_toml()).digest == base.digest
    assert Policy.model_validate({**base.model_dump(), "banned_words": ("b2", "a1")}).digest == base.digest
    changes: list[dict[str, object]] = [
        {"thresholds": {"TOXICITY": Thresholds(review=0.5, reject=0.91)}},
        {"banned_words": ("a1",)},
        {"suspect_words": ("c3",)},
        {"case_sensitive": True},
        {"match_obfuscated": False},
        {"max_links": 3},
        {"premoderate": True},
        {"premoderate_threads": ("t",)},
    ]
    digests = {Policy.model_validate({**base.model_dump(), **change}).digest for change in changes}
    assert len(digests) == len(changes) and base.digest not in digests


def test_the_digest_is_computed_once_and_a_changed_copy_gets_its_own() -> None:
    """The service stamps the digest on every decision: it is cached, and ``model_copy`` must not carry a stale one."""
    base = Policy(thresholds={"TOXICITY": Thresholds(review=0.5, reject=0.9)}, banned_words=("a1", "b2"))
    assert base.digest is base.digest
    changed = base.model_copy(update={"premoderate": True})
    assert changed.digest == Policy.model_validate({**base.model_dump(), "premoderate": True}).digest != base.digest
    assert base.model_copy(deep=True).digest == base.digest
    assert "digest" not in base.model_dump() and base == Policy.model_validate(base.model_dump())
