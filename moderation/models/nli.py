"""Any NLI checkpoint as a zero-shot scorer of stance (or sentiment, or toxicity).

As in transformers' zero-shot-classification pipeline, each public label of a task gets a
hypothesis from a template (stance: "The author is against {target}." and so on), the comment
is the premise, and the label probabilities are the softmax over the candidates' entailment
logits. Unlike the pipeline, a long comment is not truncated: it is cut into overlapping
pieces that leave room for the longest hypothesis, every piece is paired with every
hypothesis, and a comment's probabilities are the mean of its pieces' probabilities. Pieces
are cut once per comment, so all candidates see the same pieces.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from string import Formatter

import numpy as np

from moderation.errors import ModelError
from moderation.models.backends import BackendOutput
from moderation.models.encoder import WINDOW_STRIDE
from moderation.models.heads import softmax
from moderation.models.hf import Classifier, mean_by_index
from moderation.scores import TASK_LABELS, Progress

#: Starting points, not measured choices: override them per task in the config.
DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "stance": {
        "against": "The author is against {target}.",
        "neutral": "The author is neutral toward {target}.",
        "favor": "The author is in favor of {target}.",
    },
    "sentiment": {
        "negative": "The sentiment of this comment is negative.",
        "neutral": "The sentiment of this comment is neutral.",
        "positive": "The sentiment of this comment is positive.",
    },
    "toxicity": {
        "not_toxic": "This comment is respectful.",
        "toxic": "This comment is toxic.",
    },
}

#: Tokens kept free in every window: re-tokenizing a piece cut at a word boundary may add one or two.
PIECE_MARGIN = 4
MIN_PIECE_TOKENS = 8


def check_templates(task: str, templates: Mapping[str, str]) -> None:
    """One template per public label; ``{target}`` in every stance template and in no other."""
    labels = TASK_LABELS[task]
    if sorted(templates) != sorted(labels):
        raise ModelError(f"{task} templates must name exactly {list(labels)}, not {sorted(templates)}")
    for template in templates.values():
        fields = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
        if fields - {"target"}:
            raise ModelError(f"template {template!r}: only {{target}} can be filled in")
        if ("target" in fields) != (task == "stance"):
            need = "needs" if task == "stance" else "cannot use"
            raise ModelError(f"template {template!r}: a {task} template {need} {{target}}")


def entailment_index(id2label: Mapping[int, str], entailment: str | None, source: str) -> int:
    """The column of the entailment logit: the label named ``entailment``, else the one starting "entail"."""
    if entailment is not None:
        matches = [index for index, name in id2label.items() if name == entailment]
    else:
        matches = [index for index, name in id2label.items() if name.lower().startswith("entail")]
    if len(matches) != 1:
        raise ModelError(
            f"{source}: cannot tell the entailment label among {list(id2label.values())}; "
            'name it in the config, e.g. entailment = "LABEL_2"'
        )
    return matches[0]


class ZeroShotNliBackend:
    """Tasks answered by an NLI checkpoint through label hypotheses, all tasks in one batched pass."""

    def __init__(
        self, classifier: Classifier, templates: Mapping[str, Mapping[str, str]], *, entailment: str | None = None
    ) -> None:
        for task, task_templates in templates.items():
            check_templates(task, task_templates)
        self.classifier = classifier
        self.templates = {task: dict(task_templates) for task, task_templates in templates.items()}
        self.tasks = tuple(task for task in TASK_LABELS if task in templates)
        self.entailment = entailment_index(classifier.id2label, entailment, classifier.source)
        # Templates change the answers: they are part of the name stored with the scores.
        digest = hashlib.sha256(json.dumps(self.templates, sort_keys=True).encode()).hexdigest()[:8]
        self.name = f"{classifier.source} zero-shot [{digest}]"

    def hypotheses(self, task: str, target: str | None) -> list[str]:
        """One hypothesis per public label of ``task``, in public label order."""
        return [self.templates[task][label].format(target=target or "") for label in TASK_LABELS[task]]

    def predict_proba(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None],
        tasks: Sequence[str],
        *,
        batch_size: int,
        progress: Progress | None,
        spans: bool = False,
    ) -> BackendOutput:
        clipped = [self.classifier.clip(t) if t else None for t in targets]
        # Stance toward nothing is not asked: those rows stay NaN and the scorer reports None.
        hypotheses = {
            task: {i: self.hypotheses(task, clipped[i]) for i in range(len(texts)) if task != "stance" or clipped[i]}
            for task in tasks
        }
        pieces = self._pieces(texts, self._piece_budget(hypotheses))
        firsts: list[str] = []
        seconds: list[str] = []
        rows: dict[str, list[int]] = {task: [] for task in tasks}  # the text of each (text, piece) row
        for task in tasks:
            for i, candidates in hypotheses[task].items():
                for piece in pieces[i]:
                    rows[task].append(i)
                    firsts += [piece] * len(candidates)
                    seconds += candidates
        windows = self.classifier.windows(range(len(firsts)), firsts, seconds, overflow=False)
        logits = self.classifier.logits(windows, batch_size=batch_size, progress=progress)
        entailment = logits[:, self.entailment].astype(np.float64)
        probabilities, offset = {}, 0
        for task in tasks:
            k = len(TASK_LABELS[task])
            block = entailment[offset : offset + k * len(rows[task])].reshape(-1, k)
            offset += block.size
            probabilities[task] = mean_by_index(softmax(block), np.array(rows[task], dtype=int), len(texts))
        return BackendOutput(probabilities)

    def _piece_budget(self, hypotheses: Mapping[str, Mapping[int, list[str]]]) -> int:
        """Premise tokens per window once the longest hypothesis and the special tokens have their room."""
        tokenizer = self.classifier.tokenizer
        unique = sorted({h for per_text in hypotheses.values() for cands in per_text.values() for h in cands})
        # No hypothesis at all (stance asked of comments without a target): the tokenizer refuses an empty batch.
        encoded = tokenizer(unique, add_special_tokens=False)["input_ids"] if unique else []
        longest = max((len(ids) for ids in encoded), default=0)
        special = tokenizer.num_special_tokens_to_add(pair=True)
        budget = int(self.classifier.window_tokens - longest - special - PIECE_MARGIN)
        if budget < MIN_PIECE_TOKENS:
            raise ModelError(f"{self.classifier.source}: hypotheses of {longest} tokens leave no room for the comment")
        return budget

    def _pieces(self, texts: Sequence[str], budget: int) -> list[list[str]]:
        """Each text cut into overlapping pieces of at most ``budget`` tokens (an empty text is one piece)."""
        encoding = self.classifier.tokenizer(
            list(texts),
            add_special_tokens=False,
            truncation=True,
            max_length=budget,
            stride=min(WINDOW_STRIDE, budget // 4),
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        pieces: list[list[str]] = [[] for _ in texts]
        for offsets, i in zip(encoding["offset_mapping"], encoding["overflow_to_sample_mapping"], strict=True):
            pieces[i].append(texts[i][offsets[0][0] : offsets[-1][1]] if offsets else texts[i])
        return pieces
