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


_MONTH_WORDS = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|januar|februar|märz|maerz|mai|juni|juli|okt|dez"
    r"|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre)"
    r"[a-zé]*\.?"
)
_SHOWN_DATE = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th|er)?\.?\s+{_MONTH_WORDS}(?:\s|,|$)"
    rf"|\b{_MONTH_WORDS}\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
    r"|\b\d{1,2}\s?[./]\s?\d{1,2}\s?[./]\s?\d{2,4}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b"
    r"|\b(?:\d+|an?|one)\s+(?:sec(?:ond)?|min(?:ute)?|hour|hr|day|week|month|year)s?\s+ago\b"
    r"|\bvor\s+(?:\d+|einer?|einem)\s+(?:sekunden?|minuten?|stunden?|tag(?:en)?|wochen?|monat(?:en)?|jahr(?:en)?)\b"
    r"|\bil y a\s+\d+\s+(?:secondes?|minutes?|heures?|jours?|semaines?|mois|ans?)\b"
    r"|^(?:yesterday|today|gestern|heute|hier|aujourd'hui)\b",
    re.IGNORECASE,
)
_MAX_SHOWN_DATE_WORDS = 10
_RELATIVE_AT = re.compile(r"^(?P<rel>.+?\bago)\s+(?:at\s+)?(?P<time>\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?)$", re.I)


def looks_like_shown_date(text: str) -> bool:
    """Whether a short text is a date or age as comment headers show them, in English, German or French."""
    text = text.strip()
    return 0 < len(text) <= 60 and len(text.split()) <= _MAX_SHOWN_DATE_WORDS and bool(_SHOWN_DATE.search(text))


def parse_shown_datetime(raw: str, *, reference: datetime | None = None) -> datetime | None:
    """Parse a date as a comment header shows it ("2 days ago at 07:52 am", "3. November 2023 um 20:14
    Uhr", "Le 9 janvier à 13:06"); relative dates count back from ``reference``. None if unparseable."""
    text = raw.strip()
    relative = _RELATIVE_AT.match(text)
    if relative:
        day = parse_datetime(relative["rel"], reference=reference)
        clock = parse_datetime(relative["time"], reference=day) if day else None
        return clock or day
    if _RELATIVE.match(text) or not re.search(r"[^\W\d_]{3,}", text):
        parsed = parse_datetime(text, reference=reference)
        if parsed is not None:
            return parsed
    return _dateparser(text, reference)


def _dateparser(text: str, reference: datetime | None) -> datetime | None:
    """dateparser for words in other languages ("Di, 21. April 2020 - 16:40", "vor 2 Tagen")."""
    import dateparser

    cleaned = re.sub(r"\s+(?:um|à|at|@|-)\s+", " ", re.sub(r"\s*Uhr\b", "", text))
    cleaned = re.sub(r"^(?:le|am|on)\s+", "", cleaned, flags=re.IGNORECASE)
    settings: dict[str, object] = {"PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False}
    if reference is not None:
        settings["RELATIVE_BASE"] = reference.replace(tzinfo=None)
    try:
        return dateparser.parse(cleaned, languages=["en", "de", "fr"], settings=settings)
    except (ValueError, OverflowError, TypeError):
        return None
