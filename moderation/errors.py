"""Every error the library raises on purpose.

Hierarchy::

    ModerationError
    ├── InputError (also ValueError)       the caller's input cannot be used
    │   ├── UnknownFormatError             no extractor recognises the source
    │   ├── ExtractionError                an extractor recognised it but could not read it
    │   │   └── ExtractionTimeoutError     reading it took longer than the deadline it was given
    │   ├── InvalidJSONError               a body that must be JSON is not JSON at all
    │   ├── NotFoundError                  the thing asked for (a comment, a thread) does not exist
    │   ├── LimitError                     storing it would pass a size limit (a thread's comments)
    │   └── NotAllowedError                the caller may not make this change (it needs another scope)
    ├── ModelError                         a model or its heads cannot be loaded or used
    ├── DataError                          training or evaluation data is missing or malformed
    └── SchemaError                        the database's schema is not one this build can use

The CLI prints every ``ModerationError`` as one ``error:`` line (``moderation.cli.options``):
``InputError`` and ``DataError`` exit 2, ``ModelError`` and ``SchemaError`` exit 1. The service
turns ``InputError`` into a 4xx answer and the others into 5xx. Any other exception is a bug
and keeps its traceback.
"""

from __future__ import annotations


class ModerationError(Exception):
    """Base of every error raised on purpose by :mod:`moderation`."""


class InputError(ModerationError, ValueError):
    """The caller's input cannot be used as given."""


class UnknownFormatError(InputError):
    """No extractor recognises the source (or the requested format does not exist)."""


class ExtractionError(InputError):
    """An extractor recognised the source but could not read a thread from it."""


class InvalidJSONError(InputError):
    """A body that must be JSON cannot be parsed at all; the message is the parser's (the service answers 400)."""


class ExtractionTimeoutError(ExtractionError):
    """Reading the source took longer than its deadline (``ExtractionPool``); the read was stopped."""


class NotFoundError(InputError):
    """What the caller asked for does not exist (a comment or thread id)."""


class LimitError(InputError):
    """Storing the input would pass a size limit of the store (the service answers 413)."""


class NotAllowedError(InputError):
    """The caller may not make this change, though another caller could (the service answers 403)."""


class ModelError(ModerationError):
    """A model, tokenizer or head file cannot be loaded or does not fit together."""


class DataError(ModerationError):
    """Training or evaluation data is missing or not in the expected shape."""


class SchemaError(ModerationError):
    """The database's schema is not one this build can use or safely bring up to date."""
