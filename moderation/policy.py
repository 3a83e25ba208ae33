"""The moderation policy and ``decide``: what a comment's stored scores and text mean for it.

A :class:`Policy` holds per-attribute review and reject thresholds, banned words (reject),
suspect words (review), a link limit and pre-moderation. ``decide(policy, text, attributes)``
is a pure function of the text and the scores already stored, so a changed policy re-decides
every comment without re-scoring. A rule left out of a policy is not used; ``Policy.default()``
reads the commented ``default_policy.toml`` shipped with this package. Every key, the matching
rules and their limits are documented in docs/policy.md.

Rules, in short: an attribute fires at a score *at or above* its threshold (inclusive); at or
above ``reject`` it asks for reject, else at or above ``review`` for review. Words match whole
words after NFKC and (unless ``case_sensitive``) case folding; a trailing ``*`` matches any word
that starts so. Reject beats review beats approve, and every reason that fired is listed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator, model_validator

from moderation.actions import Action
from moderation.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ATTRIBUTES", "Decision", "Policy", "Reason", "Thresholds", "decide"]

Attribute = Literal["TOXICITY", "SEVERE_TOXICITY", "INSULT", "PROFANITY", "THREAT", "IDENTITY_ATTACK"]
ATTRIBUTES: tuple[Attribute, ...] = ("TOXICITY", "SEVERE_TOXICITY", "INSULT", "PROFANITY", "THREAT", "IDENTITY_ATTACK")
ReasonCode = Literal[
    "attribute_reject",
    "attribute_review",
    "banned_word",
    "suspect_word",
    "too_many_links",
    "premoderated",
    "text_changed",  # not the policy's: a stored comment's text changed after a moderator decided it
]
DIGEST_VERSION = 1  # part of every digest: bump it when the meaning of a policy changes

Score = Annotated[float | None, Field(default=None, ge=0, le=1, strict=True, allow_inf_nan=False)]
_LETTER_OR_DIGIT = r"[^\W_]"
_BEFORE, _AFTER = rf"(?<!{_LETTER_OR_DIGIT})", rf"(?!{_LETTER_OR_DIGIT})"
_PHRASE_GAP = r"[\s_-]+"  # between the words of a phrase: spaces, line breaks, hyphens, underscores
# Three or more single letters split by separators ("i.d.i.o.t", "i d i o t", "i-d-i-o-t"): read as one word.
_SPELLED_OUT = re.compile(rf"{_BEFORE}[^\W\d_](?:[ ._*·•|~-]+[^\W\d_]{_AFTER}){{2,}}")
_TLDS = "com|net|org|info|biz|io|ly|ru|cn|su|xyz|uk"  # bare "name.tld" counts as a link for these
_LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)[^\s<>\"']+"
    rf"|(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})\b(?:/[^\s<>\"']*)?"
)


class Thresholds(BaseModel):
    """One attribute's thresholds; a score at or above one fires it. Either may be left out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review: Score = None
    reject: Score = None

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review is None and self.reject is None:
            raise ValueError("set review, reject or both")
        if self.review is not None and self.reject is not None and self.reject < self.review:
            raise ValueError(f"reject ({self.reject}) is below review ({self.review})")
        return self


class Policy(BaseModel):
    """What ``decide`` applies. Built in code, from TOML (``load``, ``loads``) or the packaged default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: dict[Attribute, Thresholds] = Field(default_factory=dict)
    banned_words: tuple[str, ...] = Field(default=(), description="Words and phrases that reject a comment.")
    suspect_words: tuple[str, ...] = Field(default=(), description="Words and phrases that send it to review.")
    case_sensitive: StrictBool = False
    match_obfuscated: StrictBool = Field(default=True, description="Also match 'i.d.i.o.t' and 'idiooot'.")
    max_links: int | None = Field(default=None, ge=0, strict=True, description="More links than this: review.")
    premoderate: StrictBool = Field(default=False, description="Every comment goes to review.")
    premoderate_threads: tuple[str, ...] = Field(default=(), description="Thread keys whose comments go to review.")

    @field_validator("banned_words", "suspect_words")
    @classmethod
    def _words_are_patterns(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        words = tuple(word.strip() for word in words)
        for word in words:
            body, _ = _split_wildcard(word)
            if "*" in body:
                raise ValueError(f"{word!r}: '*' is allowed only at the end, as a prefix wildcard")
            if not any(char.isalnum() for char in body):
                raise ValueError(f"{word!r}: no letter or digit to match")
        return words

    @field_validator("premoderate_threads")
    @classmethod
    def _keys_not_blank(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        if any(not key.strip() for key in keys):
            raise ValueError("a thread key is blank")
        return keys

    @model_validator(mode="after")
    def _each_word_once(self) -> Policy:
        seen: dict[tuple[str, bool], str] = {}
        for listed, words in (("banned_words", self.banned_words), ("suspect_words", self.suspect_words)):
            for word in words:
                body, wildcard = _split_wildcard(word)
                key = (" ".join(_normalize(body, self.case_sensitive)[0].split()), wildcard)
                if key in seen:
                    raise ValueError(f"{word!r} in {listed} repeats {seen[key]}")
                seen[key] = f"{word!r} in {listed}"
        return self

    @classmethod
    def loads(cls, text: str, *, source: str = "<policy>") -> Policy:
        """Read a policy from TOML text; ``source`` names it in errors."""
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{source}: not valid TOML: {exc}") from exc
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            raise InputError(f"{source}: invalid policy: {_problems(exc)}") from exc

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read a policy TOML file; a bad file ends in an ``InputError`` naming it and the problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read policy {path}: {exc}") from exc
        return cls.loads(text, source=str(path))

    @classmethod
    def default(cls) -> Policy:
        """The packaged ``default_policy.toml``."""
        text = resources.files("moderation").joinpath("default_policy.toml").read_text(encoding="utf-8")
        return cls.loads(text, source="moderation/default_policy.toml")

    @cached_property
    def digest(self) -> str:
        """12 hex digits of the sha256 of the canonical policy; blind to comments, layout and list order.
        Computed once: the policy is frozen, and every decision carries the digest."""
        canonical = self.model_dump(mode="json")
        for key in ("banned_words", "suspect_words", "premoderate_threads"):
            canonical[key] = sorted(canonical[key])
        canonical["digest_version"] = DIGEST_VERSION
        encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:12]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Policy:
        """A copy whose digest is computed afresh (pydantic would carry the cached one over)."""
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("digest", None)
        return copy

    def to_toml(self) -> str:
        """The policy as TOML that ``loads`` reads back to an equal policy (comments are not kept)."""
        lines = [f"# Moderation policy {self.digest}; every key: docs/policy.md", ""]
        for key in ("premoderate", "premoderate_threads", "max_links", "banned_words", "suspect_words"):
            value = getattr(self, key)
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
        lines += [f"case_sensitive = {_toml_value(self.case_sensitive)}"]
        lines += [f"match_obfuscated = {_toml_value(self.match_obfuscated)}"]
        for attribute in ATTRIBUTES:
            if attribute in self.thresholds:
                lines += ["", f"[thresholds.{attribute}]"]
                limits = self.thresholds[attribute]
                lines += [
                    f"{name} = {value!r}"
                    for name in ("review", "reject")
                    if (value := getattr(limits, name)) is not None
                ]
        return "\n".join(lines) + "\n"


class Reason(BaseModel):
    """One rule that fired: a machine ``code``, the action it asks for, its evidence and a human message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: ReasonCode
    action: Literal["review", "reject"]
    message: str
    attribute: str | None = None
    score: float | None = None
    threshold: float | None = None
    word: str | None = Field(default=None, description="The policy entry that matched, as written.")
    match: str | None = Field(default=None, description="The matched text, as written in the comment.")
    begin: int | None = Field(default=None, ge=0, description="Offset of the match's first character.")
    end: int | None = Field(default=None, ge=0, description="Offset just past its last character.")
    count: int | None = Field(default=None, ge=0, description="Links counted.")
    limit: int | None = Field(default=None, ge=0, description="The policy's link limit.")


class Decision(BaseModel):
    """What the policy decided for one comment, why, and which policy decided it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    reasons: list[Reason] = Field(default_factory=list, description="Every reason that fired, reject first.")
    policy_digest: str = Field(description="The digest of the policy that decided.")
    unscored: list[str] = Field(
        default_factory=list, description="Attributes the policy has thresholds for that the scores lack."
    )


def decide(policy: Policy, text: str, attributes: Mapping[str, float], *, thread_key: str | None = None) -> Decision:
    """Decide one comment from its text and its stored attribute scores (Perspective names).

    Scores of attributes the policy does not use are ignored; attributes it uses that are missing
    are listed in ``unscored``. A used score that is not a number in [0, 1] is an ``InputError``.
    """
    reasons = [
        *_attribute_reasons(policy, attributes),
        *_word_reasons(policy, text),
        *_link_reasons(policy, text),
        *_premoderation_reasons(policy, thread_key),
    ]
    reasons.sort(key=lambda reason: reason.action != "reject")  # stable: each rule's order is kept
    action: Action = reasons[0].action if reasons else "approve"
    unscored: list[str] = [
        attribute for attribute in ATTRIBUTES if attribute in policy.thresholds and attribute not in attributes
    ]
    return Decision(action=action, reasons=reasons, policy_digest=policy.digest, unscored=unscored)


def _attribute_reasons(policy: Policy, attributes: Mapping[str, float]) -> Iterator[Reason]:
    """At most one reason per attribute: reject when at or above reject, else review when at or above review."""
    for attribute in ATTRIBUTES:
        limits = policy.thresholds.get(attribute)
        if limits is None or attribute not in attributes:
            continue
        score = attributes[attribute]
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise InputError(f"{attribute} score must be a number in [0, 1], not {score!r}")
        if limits.reject is not None and score >= limits.reject:
            yield _attribute_reason("attribute_reject", "reject", attribute, score, limits.reject)
        elif limits.review is not None and score >= limits.review:
            yield _attribute_reason("attribute_review", "review", attribute, score, limits.review)


def _attribute_reason(
    code: ReasonCode, action: Literal["review", "reject"], attribute: str, score: float, threshold: float
) -> Reason:
    message = f"{attribute} {score:g} is at or above the {action} threshold {threshold:g}"
    return Reason(code=code, action=action, message=message, attribute=attribute, score=score, threshold=threshold)


def _word_reasons(policy: Policy, text: str) -> Iterator[Reason]:
    """One reason per occurrence of each listed word, banned first, each list in text order."""
    if not policy.banned_words and not policy.suspect_words:
        return
    normalized, starts, ends = _prepare(text, policy.case_sensitive, policy.match_obfuscated)
    lists: tuple[tuple[ReasonCode, Literal["review", "reject"], tuple[str, ...]], ...] = (
        ("banned_word", "reject", policy.banned_words),
        ("suspect_word", "review", policy.suspect_words),
    )
    for code, action, words in lists:
        found = [
            (starts[match.start()], ends[match.end() - 1], word)
            for word in words
            for match in _word_regex(word, policy.case_sensitive, policy.match_obfuscated).finditer(normalized)
        ]
        for begin, end, word in sorted(found):
            message = f"{code.split('_')[0]} word {word!r} matches {text[begin:end]!r} at {begin}-{end}"
            yield Reason(
                code=code, action=action, message=message, word=word, match=text[begin:end], begin=begin, end=end
            )


def _link_reasons(policy: Policy, text: str) -> Iterator[Reason]:
    if policy.max_links is None:
        return
    count = len(_LINK.findall(text))
    if count > policy.max_links:
        yield Reason(
            code="too_many_links",
            action="review",
            message=f"{count} links, more than the limit of {policy.max_links}",
            count=count,
            limit=policy.max_links,
        )


def _premoderation_reasons(policy: Policy, thread_key: str | None) -> Iterator[Reason]:
    if policy.premoderate:
        yield Reason(code="premoderated", action="review", message="every comment is pre-moderated")
    elif thread_key is not None and thread_key in policy.premoderate_threads:
        yield Reason(code="premoderated", action="review", message=f"thread {thread_key!r} is pre-moderated")


def _split_wildcard(word: str) -> tuple[str, bool]:
    return (word[:-1], True) if word.endswith("*") else (word, False)


def _normalize(text: str, case_sensitive: bool) -> tuple[str, list[int], list[int]]:
    """NFKC (and case folding) per character with its combining marks, invisible format characters
    (zero-width spaces, soft hyphens) dropped, and where in ``text`` each resulting character came from."""
    if text.isascii():
        return (text if case_sensitive else text.lower()), list(range(len(text))), list(range(1, len(text) + 1))
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        piece = unicodedata.normalize("NFKC", text[i:j])
        piece = piece if case_sensitive else piece.casefold()
        piece = "".join(char for char in piece if unicodedata.category(char) != "Cf")
        pieces.append(piece)
        starts += [i] * len(piece)
        ends += [j] * len(piece)
        i = j
    return "".join(pieces), starts, ends


def _prepare(text: str, case_sensitive: bool, obfuscated: bool) -> tuple[str, list[int], list[int]]:
    """The text words are matched in: normalized and, for ``obfuscated``, spelled-out words joined up."""
    normalized, starts, ends = _normalize(text, case_sensitive)
    if not obfuscated:
        return normalized, starts, ends
    drop = {
        k
        for match in _SPELLED_OUT.finditer(normalized)
        for k in range(match.start(), match.end())
        if not normalized[k].isalpha()
    }
    if not drop:
        return normalized, starts, ends
    keep = [k for k in range(len(normalized)) if k not in drop]
    return "".join(normalized[k] for k in keep), [starts[k] for k in keep], [ends[k] for k in keep]


@lru_cache(maxsize=4096)
def _word_regex(word: str, case_sensitive: bool, obfuscated: bool) -> re.Pattern[str]:
    """A whole-word pattern for one list entry; phrase words may be split by any ``_PHRASE_GAP``."""
    body, wildcard = _split_wildcard(word)
    tokens = _normalize(body, case_sensitive)[0].split()
    core = _PHRASE_GAP.join(_token_regex(token, stretch=obfuscated) for token in tokens)
    tail = f"{_LETTER_OR_DIGIT}*" if wildcard else ""
    # The boundary check goes after the first character, so the search can skip ahead to that literal.
    first = re.escape(tokens[0][0])
    return re.compile(f"{first}(?<!{_LETTER_OR_DIGIT}{first}){core[len(first) :]}{tail}{_AFTER}")


def _token_regex(token: str, *, stretch: bool) -> str:
    """With ``stretch``, a single letter also matches three or more of it ("idiooot"), never exactly two
    (so "god" does not match "good"); a doubled letter matches two or more."""
    if not stretch:
        return re.escape(token)
    parts = []
    for char, run in itertools.groupby(token):
        count, escaped = len(list(run)), re.escape(char)
        if not char.isalpha():
            parts.append(escaped * count)
        elif count == 1:
            parts.append(f"{escaped}(?:{escaped}{escaped}+)?")
        else:
            parts.append(f"{escaped}{escaped}{{{count - 1},}}")  # starts with the literal, see _word_regex
    return "".join(parts)


def _problems(exc: ValidationError) -> str:
    """Pydantic's errors as 'key.path: problem; ...' in the words of the TOML file."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"] if part != "[key]") or "policy"
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "value_error":
            message = str(error["ctx"]["error"])
        else:
            message = error["msg"]
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    return "[" + ", ".join(_toml_value(item) for item in value) + "]"


def _toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for char in value:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
