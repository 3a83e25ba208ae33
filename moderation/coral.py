"""Coral Talk's external moderation phase: its request and answer, its signature, and our decision in its terms.

Coral (coralproject/talk) POSTs every new or edited comment to each external moderation phase an admin
configures at ``/admin/configure/moderation/phases``, and waits at most the phase's timeout (100 to 10,000 ms)
for an answer: ``204`` (or an empty body) means "no opinion", ``200`` with an :class:`ExternalModerationResponse`
sets flags, tags and a status; any other answer, a timeout or a body Coral's schema refuses makes Coral skip
the phase. Sources, quoted in docs/coral.md: ``docs/docs/external-moderation-phases.md`` and
``server/src/core/server/services/comments/pipeline/phases/external.ts`` (request, response schema),
``src/core/server/models/settings/signingSecret`` (``generateSignatures``) and ``services/fetch`` (the header).

The request is signed like Coral's webhooks: ``X-Coral-Signature: sha256=<hex>[,sha256=<hex>...]``, one
HMAC-SHA256 of the raw body per active signing secret (two while a secret is being rotated). Coral signs the
body only: it sends no timestamp, so there is no freshness to check.

How a :class:`~moderation.policy.Decision` maps (:func:`respond`), following what Coral's own phases do:

- approve: no answer (``None``; the route answers 204), so Coral's own outcome stands. ``APPROVED`` would mark
  the comment as if a moderator had approved it and end the pipeline for later phases.
- reject: ``REJECTED``, as Coral's banned-word phase does, with system flags saying why.
- review: ``SYSTEM_WITHHELD`` (Coral's Pending queue), as Coral's own Perspective phase does for a toxic comment;
  ``PREMOD`` when pre-moderation is the only reason, as Coral's pre-moderation phase does.

Flags: an external phase may only use ``COMMENT_DETECTED_TOXIC`` and ``COMMENT_DETECTED_SPAM`` (Coral refuses
the whole answer otherwise), so scores and words flag ``TOXIC`` and too many links flag ``SPAM``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moderation.errors import InputError, InvalidJSONError
from moderation.extraction.exports import html_to_text
from moderation.policy import Decision, ReasonCode

__all__ = [
    "SIGNATURE_HEADER",
    "ExternalModerationRequest",
    "ExternalModerationResponse",
    "FlagAction",
    "parse_request",
    "respond",
    "sign",
    "signature_matches",
]

SIGNATURE_HEADER = "X-Coral-Signature"
Status = Literal["NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"]
FlagReason = Literal["COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"]
_FLAGS: dict[ReasonCode, FlagReason | None] = {
    "attribute_reject": "COMMENT_DETECTED_TOXIC",
    "attribute_review": "COMMENT_DETECTED_TOXIC",
    "banned_word": "COMMENT_DETECTED_TOXIC",
    "suspect_word": "COMMENT_DETECTED_TOXIC",
    "too_many_links": "COMMENT_DETECTED_SPAM",
    "premoderated": None,  # Coral's pre-moderation sets PREMOD without a flag
    "text_changed": None,  # a stored comment's new text; Coral's comments are never stored here
}
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")


class _Part(BaseModel):
    """Coral may add fields to any part of its request: they are ignored, never refused."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class CoralComment(_Part):
    body: str = Field(description="The comment as HTML or plain text, as the phase's format setting chooses.")
    parentID: str | None = Field(default=None, description="The comment it replies to; null for a top-level one.")


class CoralAuthor(_Part):
    id: str | None = None
    role: str | None = Field(default=None, description="COMMENTER, STAFF, MODERATOR, ADMIN, ...")


class CoralStory(_Part):
    id: str | None = None
    url: str | None = None


class CoralSite(_Part):
    id: str | None = None


class CoralTenant(_Part):
    """How Coral builds before ``tenantID``/``tenantDomain`` sent the tenant."""

    id: str | None = None
    domain: str | None = None


class ExternalModerationRequest(_Part):
    """What Coral POSTs for one comment being created (``NEW``) or edited (``EDIT``)."""

    action: Literal["NEW", "EDIT"]
    comment: CoralComment
    author: CoralAuthor | None = None
    story: CoralStory | None = None
    site: CoralSite | None = None
    tenantID: str | None = None
    tenantDomain: str | None = None
    tenant: CoralTenant | None = None

    @property
    def text(self) -> str:
        """The comment as plain text: an HTML body (the phase's HTML format) is reduced to its visible text."""
        body = self.comment.body
        return html_to_text(body, newlines_are_breaks=True) if _TAG.search(body) else body

    @property
    def thread_key(self) -> str | None:
        """The story's URL, which is how the store keys a thread (``Policy.premoderate_threads`` matches it)."""
        return self.story.url if self.story is not None and self.story.url else None


class FlagAction(BaseModel):
    """A system flag Coral adds to the comment; moderators see its reason on the comment's card."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actionType: Literal["FLAG"] = "FLAG"
    reason: FlagReason


class ExternalModerationResponse(BaseModel):
    """What Coral accepts back. A status ends Coral's moderation of the comment; fields left out are not sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[FlagAction] | None = None
    status: Status | None = None
    tags: list[Literal["FEATURED", "STAFF"]] | None = None


def parse_request(body: bytes, *, max_chars: int | None = None) -> ExternalModerationRequest:
    """Read Coral's request from its raw body; anything unusable is an ``InputError`` that names the problem
    (an ``InvalidJSONError`` with the parser's message when the body is not JSON at all). Parsed as the
    desk's ``/v1`` routes parse JSON, so a lone surrogate's escape (JSON, but no text) is named as such."""
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidJSONError(f"the body is not valid JSON: {exc.msg} at character {exc.pos}") from exc
    except (ValueError, RecursionError) as exc:  # bytes in no Unicode encoding; nesting past the parser's stack
        raise InvalidJSONError(f"the body is not valid JSON: {exc}") from exc
    try:
        request = ExternalModerationRequest.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}" for error in exc.errors()
        )
        raise InputError(f"not a Coral external moderation request: {problems}") from exc
    for name, text in (("comment.body", request.comment.body), ("story.url", request.thread_key or "")):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"{name} contains an unpaired surrogate; send valid Unicode") from exc
    if max_chars is not None and len(request.comment.body) > max_chars:
        raise InputError(f"comment.body has {len(request.comment.body):,} characters; the limit is {max_chars:,}")
    return request


def sign(secret: str, body: bytes) -> str:
    """The header value Coral sends for ``body`` signed with one secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """True when one of the header's ``sha256=`` signatures is the HMAC-SHA256 of ``body`` under ``secret``.

    The header lists one signature per secret Coral still signs with, comma separated; any one that matches
    is enough. Compared in constant time; a missing or malformed header never matches.
    """
    if not header:
        return False
    expected = sign(secret, body).removeprefix("sha256=")
    found = False
    for element in header.split(","):
        scheme, _, value = element.strip().partition("=")
        if scheme == "sha256" and hmac.compare_digest(value.strip().lower().encode(), expected.encode()):
            found = True
    return found


def respond(decision: Decision) -> ExternalModerationResponse | None:
    """Coral's answer for a decision; ``None`` for approve ("no opinion": answer 204)."""
    if decision.action == "approve":
        return None
    codes = [reason.code for reason in decision.reasons]
    status: Status
    if decision.action == "reject":
        status = "REJECTED"
    elif all(code == "premoderated" for code in codes):
        status = "PREMOD"
    else:
        status = "SYSTEM_WITHHELD"
    return ExternalModerationResponse(status=status, actions=_flags(codes) or None)


def _flags(codes: Iterable[ReasonCode]) -> list[FlagAction]:
    """One flag per distinct reason Coral can be told, in the order the policy gave its reasons."""
    reasons = dict.fromkeys(flag for code in codes if (flag := _FLAGS[code]) is not None)
    return [FlagAction(reason=reason) for reason in reasons]
