"""The routing table: which model scores each language, measured, and where each model's figures hold.

``routes.json`` beside the bundled heads is the table: for each language a test split measures, the
route (a set of heads on an encoder) that scored it best, and for each route the languages each task
and attribute was measured in (``benchmarks/multilingual.py`` writes both from its figures). A comment
in a language no test split measures, or whose language could not be told, goes to the fallback route
and its scores say ``unmeasured_language``; it is never scored silently as English. The Perspective
endpoint refuses what :meth:`RouteTable.measured_in` does not cover, as Perspective does.
:class:`moderation.models.scorer.RoutedScorer` follows the table.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from moderation.errors import ModelError
from moderation.models.backends import BUNDLED_HEADS

#: The bundled routing table.
ROUTES_FILE = BUNDLED_HEADS / "routes.json"


class Route(BaseModel):
    """One model: an encoder (a hub name or folder; None: the bundled one) with its heads folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoder: str | None = None
    heads: str = Field(description="The heads' folder, relative to the table's own folder.")
    mode: str | None = Field(
        default=None,
        description="The numerics the heads were fitted on, used wherever they can run (int8: on CPU with ONNX "
        "Runtime); None: the scorer's mode.",
    )
    measured: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Task or Perspective attribute -> the languages (ISO 639-1) a test split measures it in.",
    )

    def languages(self) -> frozenset[str]:
        """Every language some test split measures this model in."""
        return frozenset(language for languages in self.measured.values() for language in languages)


class RouteTable(BaseModel):
    """Which route scores each language, and where each route's figures hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: dict[str, Route]
    languages: dict[str, str] = Field(description="Language (ISO 639-1) -> the route measured best for it.")
    fallback: str = Field(description="The route for languages without figures and for text of no known language.")
    evidence: str = Field(default="", description="Where the figures behind the choices are.")

    @model_validator(mode="after")
    def _routes_exist(self) -> RouteTable:
        unknown = sorted({self.fallback, *self.languages.values()} - self.routes.keys())
        if unknown:
            raise ValueError(f"unknown routes: {', '.join(unknown)}")
        return self

    @classmethod
    def load(cls, path: Path = ROUTES_FILE) -> RouteTable:
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValidationError) as exc:
            raise ModelError(f"cannot read the routing table {path}: {exc}") from exc

    def route(self, language: str | None) -> str:
        """The route for a comment in ``language`` (None: not known)."""
        return self.languages.get(language, self.fallback) if language else self.fallback

    def measured(self, language: str | None) -> bool:
        """Whether the route chosen for ``language`` has any test figure in it."""
        return language is not None and language in self.routes[self.route(language)].languages()

    def measured_in(self, name: str, language: str) -> bool:
        """Whether a test split measures task or attribute ``name`` in ``language`` on the route it takes."""
        return language in self.routes[self.route(language)].measured.get(name, ())
