"""Dates as comment sections show them: absolute ("Dec. 18 04:15 pm JST") or relative ("2 hours ago")."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from dateutil import parser as dateutil_parser

_TZ_OFFSETS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "JST": 9,
    "KST": 9,
    "CET": 1,
    "CEST": 2,
    "MEZ": 1,
    "MESZ": 2,
    "BST": 1,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}
TZINFOS = {name: timezone(timedelta(hours=hours), name) for name, hours in _TZ_OFFSETS.items()}

_UNITS = {
    "second": 1,
    "sec": 1,
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "hr": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_RELATIVE = re.compile(
    r"^(?P<n>\d+|an?|one)\s+(?P<unit>sec(?:ond)?|min(?:ute)?|hour|hr|day|week|month|year)s?\s+ago\b",
    re.IGNORECASE,
)
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_LINE = re.compile(
    rf"^(?:{_MONTHS}\s+\d{{1,2}}(?:,?\s+\d{{4}})?|\d{{1,2}}\s+{_MONTHS}(?:\s+\d{{4}})?"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[./]\s?\d{1,2}[./]\s?\d{2,4})"
    r"(?:,?\s*(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s+[A-Z]{2,5})?)?$",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def looks_like_date(line: str) -> bool:
    """Whether a whole line is a date or time stamp, as comment headers show them."""
    line = line.strip()
    return bool(_DATE_LINE.match(line) or _RELATIVE.match(line))


def parse_datetime(raw: str, *, reference: datetime | None = None) -> datetime | None:
    """Parse a displayed date; relative dates count back from ``reference``. None if unparseable."""
    text = raw.strip()
    match = _RELATIVE.match(text)
    if match:
        if reference is None:
            return None
        count = 1 if match["n"].lower() in {"a", "an", "one"} else int(match["n"])
        unit = match["unit"].lower()
        seconds = next(v for k, v in _UNITS.items() if unit.startswith(k))
        return reference - timedelta(seconds=count * seconds)
    default = (reference or datetime(1900, 1, 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        return dateutil_parser.parse(text, default=default, tzinfos=TZINFOS)
    except (ValueError, OverflowError):
        return None


def find_iso_date(text: str) -> date | None:
    """The first ISO date (YYYY-MM-DD) in a line of text, if it is a real date."""
    match = _ISO_DATE.search(text)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None
