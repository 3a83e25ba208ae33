"""The report's shape: every figure a pydantic model that states its denominator.

``Report`` is versioned (``schema_version``); its JSON Schema is committed as ``schema/v1.json``
and a test keeps the two identical. A figure that counts or averages something is a ``Sample``:
``n`` is its denominator and ``small_sample`` is true below ``SMALL_SAMPLE`` (30), where a rate
is closer to an anecdote than a measurement. Shares and rates are ``count / n`` (0 when n is 0).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from moderation.policy import Reason
from moderation.scores import LabelScores
from moderation.thread import Votes

SCHEMA_VERSION: Final = "1"
SMALL_SAMPLE = 30
FLAG_THRESHOLD = 0.5

__all__ = [
    "FLAG_THRESHOLD",
    "SCHEMA_VERSION",
    "SMALL_SAMPLE",
    "AttributeSummary",
    "AuthorRate",
    "Authors",
    "CommentRecord",
    "CommentRef",
    "Correlation",
    "Counts",
    "DecisionSummary",
    "DepthDistribution",
    "DepthStat",
    "Distribution",
    "Highlight",
    "Histogram",
    "Rate",
    "ReasonCount",
    "ReplyStructure",
    "Report",
    "Sample",
    "Scope",
    "Share",
    "StanceTransitions",
    "Subthread",
    "Subthreads",
    "ThreadSummary",
    "TimeBucket",
    "Timeline",
    "TopComments",
    "TransitionRow",
    "VotesVsToxicity",
]


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sample(Part):
    """A figure over ``n`` items."""

    n: int = Field(ge=0, description="The denominator: how many items the figure is computed over.")
    small_sample: bool = Field(description=f"True when n < {SMALL_SAMPLE}: too few items to read as a rate.")


class Share(Part):
    label: str
    count: int = Field(ge=0)
    share: float = Field(ge=0, le=1, description="count / n of the enclosing figure (0 when n is 0).")


class Distribution(Sample):
    """How ``n`` items fall into labelled buckets, in a fixed label order."""

    buckets: list[Share]


class Rate(Sample):
    """``count`` of ``n`` items have some property."""

    count: int = Field(ge=0)
    rate: float = Field(ge=0, le=1)


class Histogram(Part):
    """Counts of scores in ``len(edges) - 1`` bins; each bin holds [edge, next edge), the last also 1.0."""

    edges: list[float]
    counts: list[int]


class Highlight(Part):
    """A stretch of a comment's text to mark: a scored sentence at or above the flag threshold, or a
    word a policy rule matched."""

    begin: int = Field(ge=0)
    end: int = Field(ge=0)
    label: str = Field(description="The attribute (e.g. TOXICITY) or the rule (banned_word, suspect_word).")
    score: float | None = None


class CommentRef(Part):
    """One comment as a list of the report shows it."""

    thread: int = Field(ge=0, description="Index into Report.threads.")
    id: str
    parent: str | None = None
    depth: int = Field(ge=0, description="0 for a top-level comment, 1 for a reply to it, ...")
    author: str | None = None
    published: datetime | None = None
    votes: Votes = Field(default_factory=Votes)
    text: str
    language: str | None = Field(default=None, description="ISO 639-1 code; None when unknown.")
    sentiment: str | None = None
    stance: str | None = None
    toxicity: float | None = Field(default=None, description="The TOXICITY probability.")
    top_attribute: str | None = Field(
        default=None, description="The production attribute with the highest score (an experimental one never is)."
    )
    top_score: float | None = None
    decision: str | None = None
    reasons: list[str] = Field(default_factory=list, description="The decision's reasons, as messages.")
    highlights: list[Highlight] = Field(default_factory=list)


class TopComments(Sample):
    """The first comments of a ranking; ``n`` is how many were ranked."""

    ranked_by: str
    comments: list[CommentRef]


class ThreadSummary(Part):
    index: int = Field(ge=0)
    thread_id: int | None = Field(default=None, description="The stored thread's id; None for a fresh source.")
    key: str
    title: str | None = None
    url: str | None = None
    published: date | datetime | None = None
    source_format: str
    language: str | None = Field(default=None, description="The article's language (ISO 639-1), where known.")
    not_argumentative: str | None = Field(
        default=None,
        description="What the title is when its wording shows it takes no position to be for or against "
        "('a personal story', 'a how-to or a list'); None when it reads as a claim or a topic, or is missing.",
    )
    comments: int = Field(ge=0, description="Comments of this thread in the report's scope.")
    announced_comments: int | None = None
    excluded: int = Field(ge=0, description="Records the source holds but the thread leaves out (deleted, spam...).")


class Scope(Part):
    kind: Literal["thread", "threads", "site"] = Field(
        description="One thread, several given threads, or every stored thread (of a site, when named)."
    )
    source: str | None = Field(default=None, description="The page, export or database the threads came from.")
    site: str | None = Field(default=None, description="Only threads whose URL is on this host.")
    since: datetime | None = Field(default=None, description="Only comments published at or after this time.")
    until: datetime | None = Field(default=None, description="Only comments published before this time.")


class Counts(Part):
    threads: int
    comments: int = Field(description="Comments in scope.")
    scored: int = Field(description="Comments with scores; every score figure counts only these.")
    authors: int = Field(
        description="Distinct author names (per site: the same name on two threads counts once); placeholders "
        "for anonymity ('Guest', 'Anonymous') are no name."
    )
    anonymous: int = Field(description="Comments without an author name or under a placeholder ('Guest').")
    top_level: int
    replies: int
    excluded: int = Field(description="Records the sources left out (deleted, spam, unapproved, ...).")
    undated: int = Field(description="Comments without a timestamp.")
    flagged: int = Field(default=0, description="Comments a production attribute scores at or above the threshold.")
    held: int = Field(default=0, description="Comments decided review or reject.")
    reviewed: int = Field(default=0, description="Comments a moderator decided (rather than the policy).")


class DepthDistribution(Part):
    depth: int = Field(ge=0)
    distribution: Distribution


class TransitionRow(Part):
    """Replies to comments whose stance is ``parent``, by their own stance."""

    parent: str
    replies: Distribution


class StanceTransitions(Part):
    """How stance shifts from a comment to its direct replies (both with a stance)."""

    same_as_parent: Rate = Field(description="Replies whose stance equals their parent's; n = reply pairs.")
    rows: list[TransitionRow]


class AttributeSummary(Sample):
    """One attribute over the scored comments that have it."""

    name: str
    experimental: bool = Field(
        description="No test data measures this attribute (Perspective's experimental): shown, it never flags."
    )
    flagged: int = Field(
        description="Comments scoring at or above the flag threshold (for an experimental attribute they are "
        "counted here but not flagged)."
    )
    rate: float = Field(ge=0, le=1)
    mean: float | None = None
    max: float | None = None
    histogram: Histogram
    review: float | None = Field(default=None, description="The deciding policy's review threshold, where known.")
    reject: float | None = Field(default=None, description="The deciding policy's reject threshold, where known.")


class ReasonCount(Part):
    code: str
    attribute: str | None = None
    count: int
    share: float = Field(description="Of decided comments (DecisionSummary.actions.n).")


class DecisionSummary(Part):
    actions: Distribution = Field(description="approve / review / reject over decided comments.")
    undecided: int
    by_moderator: int = Field(description="Decisions a moderator made rather than the policy.")
    reasons: list[ReasonCount] = Field(description="Each rule that fired, most frequent first.")
    policies: list[str] = Field(description="Digests of the policies that decided.")


class Correlation(Sample):
    spearman: float | None = Field(description="Rank correlation; None when either side is constant or n < 3.")


class VotesVsToxicity(Part):
    most_voted: TopComments = Field(description="Ranked by vote score (up - down); n = comments with votes.")
    most_toxic: TopComments = Field(description="Ranked by TOXICITY; n = scored comments.")
    in_both: int = Field(description="Comments on both lists.")
    correlation: Correlation = Field(description="Vote score against TOXICITY over comments with both.")


class DepthStat(Sample):
    """Scored comments at one reply depth."""

    depth: int = Field(ge=0)
    mean_toxicity: float | None
    flagged: int
    rate: float = Field(ge=0, le=1)


class ReplyStructure(Part):
    depth: Distribution = Field(description="Comments by reply depth (label '0' = top level).")
    max_depth: int
    orphans: int = Field(description="Replies whose parent the source excluded (kept as top level).")
    toxicity_by_depth: list[DepthStat]
    replies_to_flagged: Rate = Field(description="Replies to a flagged comment that are flagged themselves.")
    replies_to_unflagged: Rate = Field(description="Replies to an unflagged comment that are flagged.")


class Subthread(Sample):
    """A top-level comment and every reply below it; ``n`` = its scored comments."""

    thread: int = Field(ge=0)
    root: CommentRef
    size: int = Field(description="Comments in the sub-thread, the root included.")
    flagged: int
    mean_toxicity: float | None
    max_toxicity: float | None
    max_depth: int
    toxicity_by_depth: list[DepthStat] = Field(description="How toxicity spreads down the replies.")


class Subthreads(Sample):
    """The most heated sub-threads: most flagged comments first, then highest mean TOXICITY;
    ``n`` = sub-threads with at least one reply."""

    items: list[Subthread]


class TimeBucket(Part):
    start: datetime
    comments: int
    flagged: int
    mean_toxicity: float | None


class Timeline(Sample):
    """Comments per time bucket (UTC; timestamps without a zone are read as UTC); ``n`` = dated comments."""

    unit: Literal["hour", "day", "week", "month", "year"]
    undated: int
    first: datetime
    last: datetime
    buckets: list[TimeBucket]


class AuthorRate(Sample):
    """One author's comments (``n``) and how many were flagged or held for review or rejected."""

    author: str
    flagged: int
    rate: float = Field(ge=0, le=1)
    held: int = Field(description="Comments decided review or reject.")


class Authors(Sample):
    """Authors with the highest flag rates (only those with a flagged or held comment are listed);
    ``n`` = authors with at least ``min_comments`` scored comments."""

    min_comments: int
    authors: list[AuthorRate]


class CommentRecord(Part):
    """Every comment in scope with every score: the rows of the CSV."""

    thread: int = Field(ge=0)
    id: str
    parent: str | None = None
    depth: int = Field(ge=0)
    author: str | None = None
    published: datetime | None = None
    votes: Votes = Field(default_factory=Votes)
    text: str
    language: str | None = Field(default=None, description="ISO 639-1 code; None when unknown.")
    language_confidence: float | None = Field(
        default=None, description="The detector's confidence in the language; None when the source gave it."
    )
    sentiment: LabelScores | None = None
    stance: LabelScores | None = None
    attributes: dict[str, float] = Field(default_factory=dict)
    flagged: bool = Field(description="Some production attribute at or above the flag threshold.")
    decision: str | None = None
    decided_by: str | None = None
    reasons: list[Reason] = Field(default_factory=list)


class Report(Part):
    """What readers thought of one thread or many, and what moderation made of it."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    title: str
    generated_at: datetime
    scope: Scope
    models: list[str] = Field(description="The models whose scores the report reads, where known.")
    flag_threshold: float = Field(
        description="A production attribute at or above this flags its comment (an experimental one never does)."
    )
    small_sample_below: int = Field(description="Figures with n below this are marked small_sample.")
    threads: list[ThreadSummary]
    counts: Counts
    languages: Distribution | None = Field(
        default=None,
        description="Comments by language (ISO 639-1), most frequent first, then 'und' for those without one; "
        "n = comments in scope. None in reports from builds that detected no languages.",
    )
    sentiment: Distribution
    stance: Distribution = Field(
        description="Stance toward the article's title (ThreadSummary.title); n = comments scored with a title."
    )
    stance_by_depth: list[DepthDistribution]
    stance_transitions: StanceTransitions
    attributes: list[AttributeSummary]
    decisions: DecisionSummary
    flagged: TopComments = Field(description="The most flagged or held comments, with highlights.")
    votes: VotesVsToxicity
    replies: ReplyStructure
    heated_subthreads: Subthreads
    activity: Timeline | None = Field(description="None when no comment in scope has a timestamp.")
    authors: Authors
    comments: list[CommentRecord]
