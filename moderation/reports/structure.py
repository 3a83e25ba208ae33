"""Figures of the reply tree: depth, stance along reply chains, and toxicity spreading down sub-threads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from moderation.reports.document import (
    DepthDistribution,
    DepthStat,
    ReplyStructure,
    StanceTransitions,
    Subthread,
    Subthreads,
    TransitionRow,
)
from moderation.reports.figures import Item, distribution, mean, rate, ratio, ref, small
from moderation.scores import TASK_LABELS
from moderation.thread import Thread

STANCES = TASK_LABELS["stance"]


def tree(thread: Thread) -> dict[str, tuple[int, str]]:
    """Each comment's reply depth and the id of its top-level comment (a parent cycle is cut at the top)."""
    parents = {c.id: c.parent for c in thread.comments}
    placed: dict[str, tuple[int, str]] = {}
    for comment in thread.comments:
        chain: list[str] = []
        current: str | None = comment.id
        while current is not None and current not in placed and current not in chain:
            chain.append(current)
            current = parents.get(current)
        depth, root = placed[current] if current is not None and current in placed else (-1, chain[-1])
        for cid in reversed(chain):
            depth += 1
            placed[cid] = (depth, root)
    return placed


def _stance(item: Item) -> str | None:
    return item.scores.stance.label if item.scores is not None and item.scores.stance is not None else None


def stance_by_depth(items: Sequence[Item]) -> list[DepthDistribution]:
    by_depth: dict[int, list[str]] = defaultdict(list)
    for item in items:
        if (stance := _stance(item)) is not None:
            by_depth[item.depth].append(stance)
    return [
        DepthDistribution(depth=depth, distribution=distribution(STANCES, stances))
        for depth, stances in sorted(by_depth.items())
    ]


def _parent_of(items: Sequence[Item]) -> dict[tuple[int, str], Item]:
    """Each reply (by thread and id) to its parent, where both are in scope."""
    by_id = {(item.thread, item.comment.id): item for item in items}
    return {
        key: by_id[(item.thread, item.comment.parent)]
        for key, item in by_id.items()
        if item.comment.parent is not None and (item.thread, item.comment.parent) in by_id
    }


def stance_transitions(items: Sequence[Item]) -> StanceTransitions:
    parent_of = _parent_of(items)
    pairs: dict[str, list[str]] = defaultdict(list)
    for item in items:
        parent = parent_of.get((item.thread, item.comment.id))
        if parent is None:
            continue
        mine, theirs = _stance(item), _stance(parent)
        if mine is not None and theirs is not None:
            pairs[theirs].append(mine)
    total = sum(len(replies) for replies in pairs.values())
    same = sum(replies.count(label) for label, replies in pairs.items())
    labels = list(STANCES) + sorted(label for label in pairs if label not in STANCES)
    rows = [TransitionRow(parent=label, replies=distribution(STANCES, pairs[label])) for label in labels]
    return StanceTransitions(same_as_parent=rate(same, total), rows=rows)


def depth_stats(items: Sequence[Item]) -> list[DepthStat]:
    """Toxicity and flag rate of scored comments at each reply depth."""
    by_depth: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        if item.scores is not None:
            by_depth[item.depth].append(item)
    stats = []
    for depth, group in sorted(by_depth.items()):
        flagged = sum(item.flagged for item in group)
        stats.append(
            DepthStat(
                n=len(group),
                small_sample=small(len(group)),
                depth=depth,
                mean_toxicity=mean(t for item in group if (t := item.toxicity) is not None),
                flagged=flagged,
                rate=ratio(flagged, len(group)),
            )
        )
    return stats


def reply_structure(items: Sequence[Item], orphans: int) -> ReplyStructure:
    parent_of = _parent_of(items)
    after_flagged = after_unflagged = 0
    flagged_after_flagged = flagged_after_unflagged = 0
    for item in items:
        parent = parent_of.get((item.thread, item.comment.id))
        if parent is None or parent.scores is None or item.scores is None:
            continue
        if parent.flagged:
            after_flagged += 1
            flagged_after_flagged += item.flagged
        else:
            after_unflagged += 1
            flagged_after_unflagged += item.flagged
    depths = [item.depth for item in items]
    max_depth = max(depths, default=0)
    return ReplyStructure(
        depth=distribution([str(d) for d in range(max_depth + 1)], (str(d) for d in depths)),
        max_depth=max_depth,
        orphans=orphans,
        toxicity_by_depth=depth_stats(items),
        replies_to_flagged=rate(flagged_after_flagged, after_flagged),
        replies_to_unflagged=rate(flagged_after_unflagged, after_unflagged),
    )


def heated_subthreads(items: Sequence[Item], top: int) -> Subthreads:
    """Sub-threads (a top-level comment and its replies, in scope) with at least one reply, most heated first."""
    groups: dict[tuple[int, str], list[Item]] = defaultdict(list)
    for item in items:
        groups[(item.thread, item.root)].append(item)
    subthreads = []
    for (_, root_id), group in groups.items():
        root = next((item for item in group if item.comment.id == root_id), None)
        if root is None or len(group) < 2:
            continue
        scored = [item for item in group if item.scores is not None]
        values = [t for item in scored if (t := item.toxicity) is not None]
        subthreads.append(
            Subthread(
                n=len(scored),
                small_sample=small(len(scored)),
                thread=root.thread,
                root=ref(root, with_highlights=True),
                size=len(group),
                flagged=sum(item.flagged for item in scored),
                mean_toxicity=mean(values),
                max_toxicity=max(values, default=None),
                max_depth=max(item.depth for item in group),
                toxicity_by_depth=depth_stats(group),
            )
        )
    subthreads.sort(key=lambda s: (-s.flagged, -(s.mean_toxicity or 0.0), -s.size, s.thread, s.root.id))
    return Subthreads(n=len(subthreads), small_sample=small(len(subthreads)), items=subthreads[:top])
