"""Every error the library raises on purpose.

Hierarchy::

    ModerationError
    ├── InputError (also ValueError)       the caller's input cannot be used
    │   ├── UnknownFormatError             no extractor recognises the source
    │   ├── ExtractionError                an extractor recognised it but could not read it
    │   └── NotFoundError                  the thing asked for (a comment, a thread) does not exist
    ├── ModelError                         a model or its heads cannot be loaded or used
    ├── DataError                          training or evaluation data is missing or malformed
    └── SchemaError                        the database's schema is not one this build can use

The CLI turns ``InputError`` into exit code 2 and the service into a 4xx answer; anything
else is a bug or an operator problem and keeps its traceback.
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


class NotFoundError(InputError):
    """What the caller asked for does not exist (a comment or thread id)."""


class ModelError(ModerationError):
    """A model, tokenizer or head file cannot be loaded or does not fit together."""


class DataError(ModerationError):
    """Training or evaluation data is missing or not in the expected shape."""


class SchemaError(ModerationError):
    """The database's schema is not one this build can use or safely bring up to date."""
