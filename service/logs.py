"""No credential in a log line: API keys in a query string (``?key=``, which Perspective's and Coral's clients
send), ``Authorization`` values and the desk's own key tokens are redacted before uvicorn's (or our) log
handlers write them.

uvicorn's access log writes each request's path with its query string (``"POST
/v1alpha1/comments:analyze?key=md_... HTTP/1.1" 200``); :func:`redact_logs` puts :class:`RedactCredentials` on
the loggers that can carry one, so every way of serving the app (``moderation serve``, ``uvicorn --factory
service.app:create_app``) gets it.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

#: Query parameters that carry a credential, by name (case-insensitive).
_QUERY_CREDENTIAL = re.compile(
    r"(?P<name>(?:^|(?<=[?&;]))(?:key|api_?key|access_?token|token|secret|password|signature)=)"
    r"(?P<prefix>md_[0-9a-f]{8}_)?[^&;#\s\"']*",
    re.IGNORECASE,
)
#: An ``Authorization`` value written out (``Bearer <token>``, ``Basic <base64>``).
_AUTH_VALUE = re.compile(r"\b(?P<name>(?:Bearer|Basic|Token)\s+)(?P<prefix>md_[0-9a-f]{8}_)?[^\s,;\"']+", re.IGNORECASE)
#: The desk's key tokens (``md_<prefix>_<secret>``, moderation/keys.py) anywhere: the prefix names a key to people
#: and stays, the secret goes.
_DESK_TOKEN = re.compile(r"\b(?P<name>)(?P<prefix>md_[0-9a-f]{8}_)[A-Za-z0-9_\-]+")

#: The loggers whose records may carry a request's URL or headers.
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "moderation", "moderation.service", "service")


def redact(text: str) -> str:
    """``text`` with every credential it holds replaced by ``[redacted]``."""
    for pattern in (_QUERY_CREDENTIAL, _AUTH_VALUE, _DESK_TOKEN):
        text = pattern.sub(_replacement, text)
    return text


def _replacement(match: re.Match[str]) -> str:
    """The credential's name (``key=``, ``Bearer ``) and a desk key's prefix, which names the key to people
    (``moderation keys list``), then ``[redacted]`` for the secret."""
    return match["name"] + (match["prefix"] or "") + REDACTED


def _redacted(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


class RedactCredentials(logging.Filter):
    """Rewrites a record's message and string arguments in place; never drops a record.

    The arguments keep their shape (uvicorn's access formatter unpacks a 5-tuple of client, method, path,
    HTTP version and status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: _redacted(value) for name, value in record.args.items()}
        return True


def redact_logs() -> None:
    """Put one :class:`RedactCredentials` on each of :data:`LOGGERS` and on their handlers (idempotent).

    On the loggers because uvicorn configures its handlers when it starts (``dictConfig`` keeps loggers'
    filters); on the handlers too, because a logger's filter does not see records its children pass up."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            if not any(isinstance(existing, RedactCredentials) for existing in target.filters):
                target.addFilter(RedactCredentials())
