"""One reader per attribute data set: a split's texts and their rater fractions, in ``ATTRIBUTES`` order.

Every reader maps its data set's own labels onto Perspective's attributes here and nowhere else:
a fraction is the share of raters who would say so, 0.0 a label that rules the attribute out, NaN
an attribute the data set says nothing about. ``attribute_data`` registers the readers, drops
repeated texts and keeps benchmark test texts out of training; docs/models.md gives each rule's reason.
Sources without a split of their own are split 80/10/10 by a hash of a stable key (``hash_split``).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import html
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moderation.errors import DataError
from moderation.scores import ATTRIBUTES
from moderation.training.data import _load_dataset, _require, _tweeteval

#: A split's texts and, per text, one fraction per attribute.
Part = tuple[list[str], list[list[float]]]
Reader = Callable[[Path, str], Part]
#: An item of a source read whole: (its split, text, fractions).
Item = tuple[str, str, list[float]]

NAN = float("nan")


def row(**known: float) -> list[float]:
    """Fractions in ``ATTRIBUTES`` order from those a label speaks to; the others unknown."""
    return [float(known.get(attribute, NAN)) for attribute in ATTRIBUTES]


#: A label that rules every attribute out (a civil comment, a counter-narrative).
NONE_OF_THEM = row(**dict.fromkeys(ATTRIBUTES, 0.0))
NONE_BUT_TOXICITY = row(**{a: 0.0 for a in ATTRIBUTES if a != "TOXICITY"})


def normal(text: str) -> str:
    """The text as compared for duplicates: whitespace collapsed, lower case."""
    return " ".join(text.split()).lower()


_MENTION = re.compile(r"@\w+")
_LINK = re.compile(r"https?://\S+|\burl\b")


@functools.cache
def _unmatched() -> dict[int, None]:
    """Quote marks and invisible format characters (Unicode category Cf), to drop with ``str.translate``
    (asking each character's category took most of the time to load the attribute sets)."""
    formats = (c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf")
    return dict.fromkeys([ord('"'), *formats])


def match_key(text: str) -> str:
    """``normal``, blind to what tweet releases mask differently: mentions, links, quote marks, HTML
    entities and invisible format characters (OLID keeps ``URL`` and quotes that TweetEval drops)."""
    text = html.unescape(text).lower().translate(_unmatched())
    return normal(_LINK.sub(" ", _MENTION.sub("@user", text)))


def hash_split(key: str) -> str:
    """80/10/10 by a hash of ``key``: stable across runs and machines."""
    bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def _read_csv(path: Path, **dialect: Any) -> list[dict[str, str]]:
    with _require(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, **dialect))


def _read_rows(path: Path) -> list[list[str]]:
    with _require(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


#: A text found in several splits of one source stays in the first of these, so no test text is trained on.
_PRECEDENCE = ("test", "validation", "train")


def pick(items: Iterable[Item], split: str) -> Part:
    """One split of a source read whole, each text once: its first row, in the first split of ``_PRECEDENCE``
    it occurs in."""
    listed = [(where, text, fractions, normal(text)) for where, text, fractions in items]
    rank = {name: i for i, name in enumerate(_PRECEDENCE)}
    home: dict[str, str] = {}
    for where, _, _, key in listed:
        if key not in home or rank[where] < rank[home[key]]:
            home[key] = where
    chosen: dict[str, tuple[str, list[float]]] = {}
    for where, text, fractions, key in listed:
        if key and where == split == home[key]:
            chosen.setdefault(key, (text, fractions))
    return [text for text, _ in chosen.values()], [fractions for _, fractions in chosen.values()]


def toxicity_only(toxic: list[float]) -> list[list[float]]:
    """A binary toxicity label: not toxic says every attribute is 0; toxic says nothing about the rest."""
    return [NONE_OF_THEM if t == 0 else row(TOXICITY=t) for t in toxic]


# The ACL 2022 span types (a few rows are cut short in the release) -> Perspective attribute.
_SPAN_TYPES = {
    "Insult": "INSULT",
    "Insu": "INSULT",
    "Profane/Obscene": "PROFANITY",
    "Threat": "THREAT",
    "Identity based Attack": "IDENTITY_ATTACK",
    "Identity based ": "IDENTITY_ATTACK",
}
#: One release comment carries 357 rater rows (a join artefact upstream); more than this is dropped.
_MAX_RATERS = 10


def civil_comments(root: Path, split: str) -> Part:
    """Rater shares of "toxic" and of each span type; SEVERE_TOXICITY only ruled out where no rater said toxic.
    Split as SemEval-2021 Task 5 split the same comments (trial = validation); the rest is train."""
    folder = root / "civil_comments_toxic_spans"
    raters: dict[str, list[dict[str, str]]] = defaultdict(list)
    for rating in _read_csv(folder / "acl2022" / "annotations.csv"):
        raters[rating["comment_id"]].append(rating)
    marked: dict[str, set[str]] = defaultdict(set)
    for span in _read_csv(folder / "acl2022" / "spans.csv"):
        if span["type"] in _SPAN_TYPES:
            marked[span["annotation"]].add(_SPAN_TYPES[span["type"]])
    semeval = {
        normal(line["text"]): name
        for name, part in (("validation", "trial"), ("test", "test"))
        for line in _read_csv(folder / "semeval2021" / f"tsd_{part}.csv")
    }
    texts, rows = [], []
    for comment in _read_csv(folder / "acl2022" / "comments.csv"):
        votes = raters.get(comment["comment_id"], [])
        text = comment["comment_text"]
        if not votes or len(votes) > _MAX_RATERS or semeval.get(normal(text), "train") != split:
            continue
        toxic = sum(v["not toxic"] != "True" for v in votes) / len(votes)
        share = {a: sum(a in marked[v["annotation"]] for v in votes) / len(votes) for a in set(_SPAN_TYPES.values())}
        texts.append(text)
        rows.append(row(TOXICITY=toxic, SEVERE_TOXICITY=0.0 if toxic == 0 else NAN, **share))
    return texts, rows


def wikipedia(root: Path, split: str) -> Part:
    """CAT-LARGE in and out of context: toxicity only, split by a hash of the comment id."""
    folder = root / "wikipedia_toxicity_in_context"
    texts, toxic = [], []
    for name in ("cat_large_gc_in_context.csv", "cat_large_gn_out_of_context.csv"):
        path = _require(folder / name)
        rows = _load_dataset("csv", {"rows": str(path)}, keep_default_na=False)["rows"]
        for comment_id, text, label in zip(rows["id"], rows["text"], rows["label"], strict=True):
            if hash_split(str(comment_id)) == split and str(text).strip():
                texts.append(str(text))
                toxic.append(float(label))
    return texts, toxicity_only(toxic)


_OLID_TSV = {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
#: OLID levels B/C of an offensive tweet -> its attributes; a targeted insult at a group (GRP: political
#: groups too) or at something else (OTH) adds nothing to "offensive".
_OLID_LEVELS = {
    ("TIN", "IND"): row(TOXICITY=1, INSULT=1),
    ("UNT", "NULL"): row(TOXICITY=1, PROFANITY=1, INSULT=0, THREAT=0, IDENTITY_ATTACK=0, SEVERE_TOXICITY=0),
}


def olid_levels(root: Path) -> dict[str, tuple[str, str]]:
    """OLID's level B and C labels of every offensive tweet (train and test), by ``match_key``; a text
    whose copies disagree is left out."""
    folder = root / "olid"
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for tweet in _read_csv(folder / "olid-training-v1.0.tsv", **_OLID_TSV):
        if tweet["subtask_a"] == "OFF":
            found[match_key(tweet["tweet"])].add((tweet["subtask_b"], tweet["subtask_c"]))
    level_b = {tweet_id: label for tweet_id, label in _read_rows(folder / "labels-levelb.csv")}
    level_c = {tweet_id: label for tweet_id, label in _read_rows(folder / "labels-levelc.csv")}
    for tweet in _read_csv(folder / "testset-levelb.tsv", **_OLID_TSV):
        found[match_key(tweet["tweet"])].add((level_b[tweet["id"]], level_c.get(tweet["id"], "NULL")))
    return {key: next(iter(labels)) for key, labels in found.items() if len(labels) == 1}


def tweeteval_offensive(root: Path, split: str) -> Part:
    """OLID level A as TweetEval re-split it, toxicity only; offensive tweets gain OLID's levels B/C
    (same tweets) where ``olid/`` is in the data folder."""
    texts, labels = _tweeteval(root, "offensive", split)
    rows = toxicity_only([float(y) for y in labels])
    if (root / "olid").is_dir():
        levels = olid_levels(root)
        rows = [
            _OLID_LEVELS.get(levels.get(match_key(text), ("", "")), fractions) if y == 1 else fractions
            for text, y, fractions in zip(texts, labels, rows, strict=True)
        ]
    return texts, rows


def ethos(root: Path, split: str) -> Part:
    """Share of raters calling a comment hate (IDENTITY_ATTACK); hateful ones add violence (THREAT) and
    being directed at a person (INSULT)."""
    folder = root / "ethos"
    hateful = {normal(r["comment"]): r for r in _read_csv(folder / "Ethos_Dataset_Multi_Label.csv", delimiter=";")}
    items = []
    for comment in _read_csv(folder / "Ethos_Dataset_Binary.csv", delimiter=";"):
        text, hate = comment["comment"], float(comment["isHate"])
        labels = hateful.get(normal(text)) if hate >= 0.5 else None
        fractions = row(IDENTITY_ATTACK=hate)
        if labels is not None:
            directed, violence = float(labels["directed_vs_generalized"]), float(labels["violence"])
            insult = directed if directed >= 0.5 else NAN
            fractions = row(IDENTITY_ATTACK=hate, TOXICITY=hate, SEVERE_TOXICITY=hate, THREAT=violence, INSULT=insult)
        items.append((hash_split(normal(text)), text, fractions))
    return pick(items, split)


_SEXIST = {"IDENTITY_ATTACK": 1, "TOXICITY": 1}
_SUBTLE_SEXISM = row(IDENTITY_ATTACK=0.5, THREAT=0, SEVERE_TOXICITY=0)
#: EDOS's fine-grained sexism vector (its number) -> attributes; "none" is a post judged not sexist.
_EDOS_VECTORS = {
    "1.1": row(**_SEXIST, THREAT=1, SEVERE_TOXICITY=1),
    "1.2": row(**_SEXIST, THREAT=1, SEVERE_TOXICITY=1),
    "2.1": row(**_SEXIST, THREAT=0),
    "2.2": row(**_SEXIST, INSULT=1, SEVERE_TOXICITY=1, THREAT=0),
    "2.3": row(**_SEXIST, SEVERE_TOXICITY=1, THREAT=0),
    "3.1": row(**_SEXIST, INSULT=1, SEVERE_TOXICITY=0, THREAT=0),
    "3.2": row(**_SEXIST, THREAT=0, SEVERE_TOXICITY=0),
    "3.3": _SUBTLE_SEXISM,
    "3.4": _SUBTLE_SEXISM,
    "4.1": _SUBTLE_SEXISM,
    "4.2": _SUBTLE_SEXISM,
    "none": row(IDENTITY_ATTACK=0),
}


def edos(root: Path, split: str) -> Part:
    """SemEval-2023 Task 10 (sexism on Reddit and Gab) in its own train/dev/test split."""
    items = []
    for post in _read_csv(root / "edos_sexism" / "edos_labelled_aggregated.csv"):
        vector = post["label_vector"].split()[0]
        items.append(({"dev": "validation"}.get(post["split"], post["split"]), post["text"], _EDOS_VECTORS[vector]))
    return pick(items, split)


#: ElSherief et al.'s "threatening" class also covers calls to deport, ban or exclude: between a quarter and a
#: third of 70 posts read by hand threaten violence (Perspective's THREAT), so the class counts at that share.
_IMPLICIT_THREAT = 0.3
_HATEFUL_IMPLICIT = {"stereotypical", "inferiority", "threatening"}
_RETWEET = re.compile(r"^rt\b\s*:?\s*")


def _undo_requoting(post: str) -> str:
    """The corpus re-quoted every post holding a quote mark: a space before, one mark after and each mark
    doubled (``" "`` once tokenised; ``""`` in a few posts). Undone, with a leading retweet marker."""
    if post[:1].isspace() and post.rstrip().endswith('"'):
        post = post.rstrip()[:-1].replace('" "', '"')
    else:
        post = post.replace('""', '"')
    return _RETWEET.sub("", post.strip())


def _implicit_fractions(kind: str, classes: set[str] | None) -> list[float]:
    if kind == "explicit_hate":
        return row(IDENTITY_ATTACK=1, TOXICITY=1, SEVERE_TOXICITY=1)
    if kind == "not_hate":
        return row(IDENTITY_ATTACK=0, THREAT=0)
    if classes is None:  # implicit hate without a stage-2 class: no attribute is known
        return row()
    return row(
        IDENTITY_ATTACK=1 if classes & _HATEFUL_IMPLICIT else NAN,
        THREAT=_IMPLICIT_THREAT if "threatening" in classes else 0,
    )


def implicit_hate(root: Path, split: str) -> Part:
    """Latent Hatred (extremist accounts' tweets): explicit, implicit (with its stage-2 class) or not hate."""
    folder = root / "implicit_hate"
    classes: dict[str, set[str]] = defaultdict(set)
    for post in _read_csv(folder / "implicit_hate_v1_stg2_posts.tsv", delimiter="\t"):
        key = normal(_undo_requoting(post["post"]))
        classes[key] |= {post["implicit_class"], post["extra_implicit_class"]} - {""}
    items = []
    for post in _read_csv(folder / "implicit_hate_v1_stg1_posts.tsv", delimiter="\t"):
        text = _undo_requoting(post["post"])
        key = normal(text)
        items.append((hash_split(key), text, _implicit_fractions(post["class"], classes.get(key))))
    return pick(items, split)


def davidson(root: Path, split: str) -> Part:
    """Vote shares of hate: SEVERE_TOXICITY, against the merely offensive; a tweet all raters called neither
    rules every attribute but TOXICITY out. TOXICITY stays unknown: the offensive class is casual slurs and
    swearing, over-called on African-American English, and it raised every comment's TOXICITY in a pilot."""
    items = []
    for tweet in _read_csv(root / "davidson_hate_offensive" / "labeled_data.csv"):
        count, hate = (int(tweet[k]) for k in ("count", "hate_speech"))
        fractions = NONE_BUT_TOXICITY if int(tweet["neither"]) == count else row(SEVERE_TOXICITY=hate / count)
        text = html.unescape(tweet["tweet"])
        items.append((hash_split(normal(text)), text, fractions))
    return pick(items, split)


_MISOGYNY = {"Derogation", "Misogynistic_pejorative", "Misogynistic_personal_attack", "Treatment"}
_PERSONAL_ATTACKS = {"Misogynistic_personal_attack", "Nonmisogynistic_personal_attack"}
_NO_TEXT = {"", "[removed]", "[deleted]"}


def _misogyny_fractions(level_2: set[str], level_3: set[str]) -> list[float]:
    """One entry's labels, every row of it together (an entry has one row per category it falls in). Misogyny is
    an identity attack; whether raters would call it toxic was not asked, so TOXICITY is left to the sources that
    asked (only counter-speech rules it out)."""
    if "Counter_speech" in level_2:
        return NONE_OF_THEM
    if level_2 == {"None_of_the_categories"}:
        return row(IDENTITY_ATTACK=0, INSULT=0)
    threat = any(label.startswith("Threatening") for label in level_3)
    misogynistic = bool(level_2 & _MISOGYNY)
    return row(
        IDENTITY_ATTACK=1 if misogynistic else NAN,
        THREAT=1 if threat else 0 if misogynistic else NAN,
        INSULT=1 if level_2 & _PERSONAL_ATTACKS else NAN,
    )


def reddit_misogyny(root: Path, split: str) -> Part:
    """Guest et al.'s expert labels; its test split kept, 10 % of its train split (by hash) for validation.
    Rows shifted by a stray comma (text in ``image``), removed bodies and entries labelled both
    misogynistic and not are left out; ``author`` is never read."""
    entries: dict[str, list[dict[str, str]]] = defaultdict(list)
    for entry in _read_csv(root / "reddit_misogyny_eacl2021" / "final_labels.csv"):
        if entry["image"] in ("", "Yes"):
            entries[entry["entry_id"]].append(entry)
    items = []
    for rows in entries.values():
        body, key = rows[0]["body"], normal(rows[0]["body"])
        if len({r["level_1"] for r in rows}) > 1 or key in _NO_TEXT:
            continue
        where = "test" if rows[0]["split"] == "test" else "validation" if hash_split(key) == "validation" else "train"
        items.append((where, body, _misogyny_fractions({r["level_2"] for r in rows}, {r["level_3"] for r in rows})))
    return pick(items, split)


_TRAC_FILES = {
    "train": "english/agr_en_train.csv",
    "validation": "english/agr_en_dev.csv",
    "test": "trac-gold-set/agr_en_fb_gold.csv",  # Facebook, as train and dev; the Twitter gold set is left out
}
#: Aggression is not toxicity (a pilot fine-tune read it as such and flagged civil comments): the
#: non-aggressive comments rule the other attributes out, and the aggressive ones say nothing we train.
_TRAC_LABELS = {"OAG": row(), "CAG": row(), "NAG": NONE_BUT_TOXICITY}


def trac(root: Path, split: str) -> Part:
    """TRAC-1 English: overt aggression is toxic, covert aggression half so (raters agree poorly on it)."""
    folder = root / "trac1_aggression"
    items = [
        (where, text, _TRAC_LABELS[label])
        for where, name in _TRAC_FILES.items()
        for _, text, label in _read_rows(folder / name)
    ]
    return pick(items, split)


def _conan_pairs(folder: Path) -> list[tuple[str, str, str]]:
    """English (hate speech family, hate speech, counter-narrative) pairs: CONAN's English originals and
    paraphrases (one family per hate speech id) and English translations of its French and Italian pairs
    (ids ending T1), then Multitarget-CONAN (one family per hate speech text)."""
    pairs = []
    for pair in _read_csv(folder / "CONAN.csv"):
        cn_id = pair["cn_id"]
        if cn_id.startswith("EN") or (cn_id.startswith(("FR", "IT")) and cn_id.endswith("T1")):
            pairs.append((cn_id[: cn_id.index("CN")], pair["hateSpeech"], pair["counterSpeech"]))
    for pair in _read_csv(folder / "Multitarget-CONAN.csv"):
        pairs.append((normal(pair["HATE_SPEECH"]), pair["HATE_SPEECH"], pair["COUNTER_NARRATIVE"]))
    return pairs


def _hate_speech_splits(pairs: list[tuple[str, str, str]]) -> dict[str, str]:
    """Each hate speech text (normalised) -> its split. A family and any family sharing a text with it form
    one group, split by a hash of the group's first text in order, so no paraphrase is trained on and tested."""
    parent: dict[str, str] = {}

    def top(node: str) -> str:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for family, hate, _ in pairs:
        parent[top(normal(hate))] = top(family)
    groups: dict[str, set[str]] = defaultdict(set)
    for _, hate, _ in pairs:
        groups[top(normal(hate))].add(normal(hate))
    return {text: hash_split(min(texts)) for texts in groups.values() for text in texts}


def conan(root: Path, split: str) -> Part:
    """NGO-written hate speech (toxic identity attacks) and the counter-narratives answering it (civil).
    Each counter-narrative goes with its hate speech; one answering hate speech in different splits is left out."""
    pairs = _conan_pairs(root / "conan_counter_narratives")
    home = _hate_speech_splits(pairs)
    answered: dict[str, set[str]] = defaultdict(set)
    for _, hate, reply in pairs:
        answered[normal(reply)].add(home[normal(hate)])
    items = [(home[normal(hate)], hate, row(TOXICITY=1, IDENTITY_ATTACK=1)) for _, hate, _ in pairs]
    items += [(home[normal(h)], reply, NONE_OF_THEM) for _, h, reply in pairs if len(answered[normal(reply)]) == 1]
    return pick(items, split)


#: The label's confidence, not a rater share: each file holds the 5,059 removed comments that best fit an LDA
#: topic of one violated norm, and some are benign or off-topic.
_WEAK = 0.7
_ATTACK = {"TOXICITY": _WEAK, "INSULT": _WEAK}
#: The "hate speech" and "misogynistic slurs" files are half plain insults: an identity term or slur occurs in
#: 52 % and 43 % of their comments against 32-37 % in the personal-attack files. IDENTITY_ATTACK counts at the
#: label's confidence times that half.
_SLURS = {"TOXICITY": _WEAK, "IDENTITY_ATTACK": _WEAK / 2}
#: The removal files that are about toxicity (political views, porn links and criticising moderators or Reddit
#: are sub-community rules) -> the attributes their norm implies.
_NORM_FILES = {
    "macro-norm-violations-n10-t8-personal-attacks.csv": _ATTACK,
    "macro-norm-violations-n10-t9-personal-attacks.csv": _ATTACK,
    "macro-norm-violations-n15-t9-namecalling-claiming-other-too-sensitive.csv": _ATTACK,
    "macro-norm-violations-n15-t2-hatespeech-racist-homophobic.csv": _SLURS,
    "macro-norm-violations-n10-t0-misogynistic-slurs.csv": _SLURS,
}


def reddit_norm_violations(root: Path, split: str) -> Part:
    """Moderator-removed Reddit comments, positives only; a comment in several files has every file's labels."""
    found: dict[str, dict[str, float]] = defaultdict(dict)
    texts: dict[str, str] = {}
    for name, labels in _NORM_FILES.items():
        for (text,) in _read_rows(root / "reddit_norm_violations" / name):
            texts.setdefault(normal(text), text)
            found[normal(text)].update(labels)
    return pick(((hash_split(key), texts[key], row(**labels)) for key, labels in found.items()), split)


#: This project's own short comments on threats and their near misses (docs/models.md).
WRITTEN_THREATS = Path(__file__).with_name("written") / "threats.tsv"
_THREAT_KINDS = ("direct", "conditional", "call", "veiled")
_NEAR_MISS_KINDS = ("report", "condemn", "objects", "idiom", "sport", "fiction", "nonviolent")


def _written_fractions(kind: str) -> list[float]:
    if kind in _THREAT_KINDS:
        return row(THREAT=1.0, TOXICITY=1.0)
    if kind in _NEAR_MISS_KINDS:
        return NONE_OF_THEM
    if kind == "insult":
        return row(THREAT=0.0, TOXICITY=1.0, INSULT=1.0)
    raise DataError(f"{WRITTEN_THREATS}: unknown kind {kind!r}")


def written_threats(root: Path, split: str) -> Part:
    """Threats of violence (THREAT and TOXICITY 1; the other attributes depend on the target, so unknown) and
    near misses that share their words: reports, condemnations, violent verbs about things, idioms, sport,
    fiction and non-violent consequences rule every attribute out; insults without a threat rule THREAT out.
    The few first-person threats in the shared data are why this set exists. Ships with the code: ``root`` unused."""
    items = []
    for number, line in enumerate(WRITTEN_THREATS.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, _, text = line.partition("\t")
        if not text.strip():
            raise DataError(f"{WRITTEN_THREATS}:{number}: expected 'kind<TAB>text'")
        items.append((hash_split(normal(text)), text.strip(), _written_fractions(kind)))
    return pick(items, split)
