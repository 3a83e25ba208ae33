"""The ``/v1`` API's request and response bodies, one module per resource, built from the repository's
stored objects (:mod:`moderation.storage.stored`); :mod:`.openapi` holds the problem answers every route
documents, :mod:`.params` the path and query parameters several routes share."""
