"""Which model answers which task: a ``ModelConfig``, built in code or read from TOML.

Every task left out of the config is answered by the bundled encoder and heads (or by the
``encoder``/``heads`` the config names). In a TOML file the config is the ``[models]`` table::

    [models.sentiment]
    kind = "sequence-classification"
    checkpoint = "cardiffnlp/twitter-roberta-base-sentiment-latest"

    [models.stance]
    kind = "zero-shot-nli"
    checkpoint = "MoritzLaurer/DeBERTa-v3-base-mnli-fever-anli"

Library code takes the config (or its path) as an argument; only the CLI and the service read
the environment to find it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from moderation.errors import ModelError
from moderation.models.backends import EncoderHeadsBackend, TaskBackend
from moderation.models.hf import Classifier, SequenceClassifierBackend
from moderation.models.nli import DEFAULT_TEMPLATES, ZeroShotNliBackend, check_templates
from moderation.scores import TASK_LABELS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

WindowTokens = Annotated[int | None, Field(default=None, ge=16, description="Tokens per window; default: the model's.")]


class SequenceClassificationModel(BaseModel):
    """A task answered by a sequence-classification checkpoint (a folder or a cached hub id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["sequence-classification"]
    checkpoint: str
    labels: dict[str, str] = Field(default_factory=dict, description="Checkpoint label name -> our label.")
    multi_label: bool | None = Field(default=None, description="Sigmoid per label; default: the checkpoint's.")
    pair_with_target: bool = Field(default=True, description="Stance only: pass the target as the second text.")
    window_tokens: WindowTokens


class ZeroShotNliModel(BaseModel):
    """A task answered zero-shot by an NLI checkpoint, one hypothesis template per label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["zero-shot-nli"]
    checkpoint: str
    templates: dict[str, str] | None = Field(default=None, description="Our label -> hypothesis; default: built in.")
    entailment: str | None = Field(default=None, description="The entailment label; default: the one named entail*.")
    window_tokens: WindowTokens


TaskModel = Annotated[SequenceClassificationModel | ZeroShotNliModel, Field(discriminator="kind")]


class ModelConfig(BaseModel):
    """Per-task models; a task set to None is answered by the bundled ``encoder`` and ``heads``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoder: str | None = Field(default=None, description="Encoder of the heads; default: bundled all-MiniLM-L6-v2.")
    heads: str | None = Field(default=None, description="Heads folder; default: the bundled heads.")
    sentiment: TaskModel | None = None
    stance: TaskModel | None = None
    toxicity: TaskModel | None = None

    @model_validator(mode="after")
    def _entries_fit_their_tasks(self) -> ModelConfig:
        for task, entry in self.overrides().items():
            if isinstance(entry, ZeroShotNliModel) and entry.templates is not None:
                try:
                    check_templates(task, entry.templates)
                except ModelError as exc:
                    raise ValueError(str(exc)) from exc
            pair_set = isinstance(entry, SequenceClassificationModel) and "pair_with_target" in entry.model_fields_set
            if pair_set and task != "stance":
                raise ValueError(f"pair_with_target applies to stance only, not {task}")
        return self

    def overrides(self) -> dict[str, SequenceClassificationModel | ZeroShotNliModel]:
        """The tasks this config takes away from the bundled model, in task order."""
        entries = {task: getattr(self, task) for task in TASK_LABELS}
        return {task: entry for task, entry in entries.items() if entry is not None}

    @classmethod
    def from_toml(cls, path: str | Path) -> ModelConfig:
        """Read the ``[models]`` table; relative paths that exist are taken from the file's folder."""
        path = Path(path)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ModelError(f"cannot read model config {path}: {exc}") from exc
        if not isinstance(document.get("models"), dict):
            raise ModelError(f"{path}: no [models] table")
        try:
            config = cls.model_validate(document["models"])
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ModelError(f"{path}: invalid [models] table: {problems}") from exc
        return config._relative_to(path.parent)

    def _relative_to(self, folder: Path) -> ModelConfig:
        """Paths as the file's author meant them: relative to the file, when such a folder exists."""

        def resolve(value: str | None) -> str | None:
            if value is None:
                return None
            candidate = folder / Path(value).expanduser()
            return str(candidate.resolve()) if candidate.exists() else value

        entries = {
            task: entry.model_copy(update={"checkpoint": resolve(entry.checkpoint)})
            for task, entry in self.overrides().items()
        }
        return self.model_copy(update={"encoder": resolve(self.encoder), "heads": resolve(self.heads), **entries})


def load_model_config(config: ModelConfig | str | Path) -> ModelConfig:
    """A config object as given, or read from a TOML file."""
    return config if isinstance(config, ModelConfig) else ModelConfig.from_toml(config)


def build_backends(config: ModelConfig, *, device: str = "cpu") -> dict[str, TaskBackend]:
    """Load each model once: NLI entries sharing a checkpoint become one backend serving their tasks."""
    backends: dict[str, TaskBackend] = {}
    nli: dict[tuple[str, str | None, int | None], dict[str, dict[str, str]]] = {}
    for task, entry in config.overrides().items():
        if isinstance(entry, SequenceClassificationModel):
            classifier = Classifier.load(entry.checkpoint, device=device, window_tokens=entry.window_tokens)
            backends[task] = SequenceClassifierBackend(
                classifier,
                task,
                labels=entry.labels,
                multi_label=entry.multi_label,
                pair_with_target=entry.pair_with_target,
            )
        else:
            key = (entry.checkpoint, entry.entailment, entry.window_tokens)
            nli.setdefault(key, {})[task] = entry.templates or DEFAULT_TEMPLATES[task]
    for (checkpoint, entailment, window_tokens), templates in nli.items():
        classifier = Classifier.load(checkpoint, device=device, window_tokens=window_tokens)
        backends.update(dict.fromkeys(templates, ZeroShotNliBackend(classifier, templates, entailment=entailment)))
    rest = [task for task in TASK_LABELS if task not in backends]
    if rest:
        bundled = EncoderHeadsBackend.load(config.encoder, heads=config.heads, device=device)
        backends.update(dict.fromkeys(rest, bundled))
    return backends
