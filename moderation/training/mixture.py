"""How much each attribute data set weighs in training, whatever its size.

The attribute sources differ in size by two orders of magnitude and each has its quirks (tweets,
slur lexicons, dialect, extremist forums, NGO-written hate speech). Left to their sizes, the
largest would decide what TOXICITY means. Each source instead gets a share of every epoch's
attribute draw (fine-tuning) or of the total sample weight (the frozen-feature heads); the shares
and why are in docs/models.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from moderation.errors import DataError
from moderation.training import attribute_data
from moderation.training.feedback_data import FEEDBACK

#: Share of the attribute training weight per source (renormalised over the sources present).
#: News comments with rater fractions for every attribute lead; each other source gets what its
#: signal is worth against its quirks (docs/models.md has the reasons and the measured trade-offs).
SOURCE_SHARES: dict[str, float] = {
    attribute_data.CIVIL_COMMENTS: 0.28,
    attribute_data.WIKIPEDIA: 0.10,
    attribute_data.TWEETEVAL_OFFENSIVE: 0.12,
    attribute_data.ETHOS: 0.03,
    attribute_data.EDOS: 0.12,
    attribute_data.IMPLICIT_HATE: 0.06,
    attribute_data.DAVIDSON: 0.05,
    attribute_data.REDDIT_MISOGYNY: 0.05,
    attribute_data.TRAC: 0.05,
    attribute_data.CONAN: 0.12,
    attribute_data.REDDIT_NORMS: 0.02,
    attribute_data.WRITTEN: 0.05,
    # A site's own moderators' decisions (moderation train --feedback): as much as a large source, not more,
    # since a few hundred decisions on one site's comments would otherwise decide what the heads mean.
    FEEDBACK: 0.10,
}


def source_shares(sources: Sequence[str], shares: Mapping[str, float] | None = None) -> dict[str, float]:
    """Each source present in ``sources`` with its share (``shares``, default ``SOURCE_SHARES``),
    renormalised over them."""
    table = SOURCE_SHARES if shares is None else shares
    present = sorted(set(sources))
    unknown = [name for name in present if name not in table]
    if unknown:
        raise DataError(f"no training share for attribute source(s) {', '.join(unknown)} (mixture.SOURCE_SHARES)")
    total = sum(table[name] for name in present)
    return {name: table[name] / total for name in present}


def draw_by_source(
    sources: Sequence[str],
    n: int,
    rng: np.random.Generator,
    *,
    repeat: bool = True,
    shares: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Indices of about ``n`` items, each source's share of them drawn from its own items: without
    replacement while it has enough, then (``repeat``) again with replacement for a small source."""
    codes = np.asarray(sources)
    picked: list[np.ndarray] = []
    for name, share in source_shares(sources, shares).items():
        members = np.flatnonzero(codes == name)
        want = round(n * share)
        drawn = rng.permutation(members)[:want]
        if repeat and want > len(members):
            drawn = np.concatenate([drawn, rng.choice(members, size=want - len(members))])
        picked.append(drawn)
    return rng.permutation(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def source_weights(sources: Sequence[str], shares: Mapping[str, float] | None = None) -> np.ndarray:
    """A sample weight per item such that each source's items sum to its share (``shares``, default
    ``SOURCE_SHARES``; mean weight 1)."""
    codes = np.asarray(sources)
    weights = np.zeros(len(codes), dtype=np.float64)
    for name, share in source_shares(sources, shares).items():
        members = codes == name
        weights[members] = share * len(codes) / members.sum()
    return weights
