"""Aggregate moderation reports: what readers thought of a thread, a site or a period, and what
moderation made of it, with every figure's denominator.

``report_for_threads`` computes a :class:`Report` from threads with their scores (and decisions) in
memory; ``report_from_store`` reads stored threads, scores and decisions; ``report_for_source``
extracts, scores and decides a fresh source without storing it. ``render`` turns a report into JSON
(following the committed JSON Schema ``schema/v1.json``), Markdown, CSV or self-contained HTML.
"""

from moderation.reports.compute import ThreadData, report_for_threads
from moderation.reports.document import FLAG_THRESHOLD, SCHEMA_VERSION, SMALL_SAMPLE, Report
from moderation.reports.formats import FORMATS, MEDIA_TYPES, Format, committed_schema, json_schema, render
from moderation.reports.sources import report_for_source, report_from_store

__all__ = [
    "FLAG_THRESHOLD",
    "FORMATS",
    "MEDIA_TYPES",
    "SCHEMA_VERSION",
    "SMALL_SAMPLE",
    "Format",
    "Report",
    "ThreadData",
    "committed_schema",
    "json_schema",
    "render",
    "report_for_source",
    "report_for_threads",
    "report_from_store",
]
