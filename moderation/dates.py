"""Dates as comment sections show them: absolute ("Dec. 18 04:15 pm JST", "15 mai 2019 à 08h07") or relative
("2 hours ago", "hace 3 días", "5 小时 7 分钟前"), in English and the languages listed at _SHOWN_MONTHS."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import lru_cache

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
    # each run of spaces belongs to one group (a bare ``\s*`` before the optional zone's ``\s+`` is quadratic)
    r"(?:,?\s*(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s+[A-Z]{2,5})?)?$",
    re.IGNORECASE,
)


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


# Shown dates: what a comment header prints, in English, German, French, Spanish, Portuguese, Italian, Dutch,
# Polish, Russian and Chinese. Detection is a few precompiled regexes over word lists written out here (reading
# dateparser's own data would import all of dateparser, ~60 ms, into every command); parsing is dateparser's,
# which knows far more forms than any table.


def _words(*groups: str) -> str:
    """One regex alternation of whitespace-separated words, longest first so "sept" is tried before "sep"."""
    unique = sorted({word for group in groups for word in group.split()}, key=lambda word: (-len(word), word))
    return "|".join(re.escape(word) for word in unique)


_SHOWN_MONTHS = _words(
    # English
    "january february march april may june july august september october november december"
    " jan feb mar apr jun jul aug sep sept oct nov dec",
    # German
    "januar jänner februar feber märz maerz mai juni juli oktober dezember mrz mär okt dez",
    # French
    "janvier février fevrier mars avril juin juillet août aout septembre octobre novembre décembre decembre"
    " janv févr fevr fév avr juil aoû déc",
    # Spanish
    "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre"
    " ene abr ago dic",
    # Portuguese
    "janeiro fevereiro março marco maio junho julho setembro outubro novembro dezembro fev set out",
    # Italian
    "gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre gen mag giu lug ott",
    # Dutch
    "januari februari maart mei augustus mrt",
    # Polish: nominative and genitive ("11 maja"), with and without diacritics
    "styczeń stycznia styczen luty lutego marzec marca kwiecień kwietnia kwiecien maj maja czerwiec czerwca"
    " lipiec lipca sierpień sierpnia sierpien wrzesień września wrzesien wrzesnia październik października"
    " pazdziernik pazdziernika listopad listopada grudzień grudnia grudzien"
    " sty lut kwi kwie cze lip sie wrz paź paz lis gru",
    # Russian: nominative and genitive ("5 марта")
    "январь января февраль февраля март марта апрель апреля май мая июнь июня июль июля август августа"
    " сентябрь сентября октябрь октября ноябрь ноября декабрь декабря"
    " янв фев февр мар апр июн июл авг сен сент окт ноя нояб дек",
)
# Short words between a month and the year or time it is followed by ("3 de mayo de 2020", "9 janvier à 13:06").
_AFTER_MONTH_LABELS = r"de|del|at|um|à|a|às|a\s+las?|alle|om|o|в|r"
_NOT_LETTER = r"(?![^\W\d_])"
_DAY_OF_MONTH = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH_NUMBER = r"(?:0?[1-9]|1[0-2])"
_CJK_UNITS = r"秒钟?|分钟|分鐘|分|个?小时|個?小時|天|日|周|週|星期|个月|個月|月|年"
_AGO_WORDS = _words(
    "yesterday today gestern heute vorgestern hier aujourd'hui aujourd\u2019hui avant-hier ayer hoy anteayer"
    " ontem hoje anteontem ieri oggi gisteren vandaag eergisteren wczoraj dzisiaj dziś przedwczoraj"
    " вчера сегодня позавчера 昨天 今天 前天"
)
_JUST_NOW = r"just\s+now|gerade\s+eben|à\s+l['\u2019]instant|ahora\s+mismo|agora\s+mesmo|刚刚"

# "N units ago" in each language; the count is a number or an article ("a day ago", "vor einem Tag").
_RELATIVE_SHOWN = re.compile(
    r"\b(?:\d+|an?|one|a\s+few|few)\s+(?:sec(?:ond)?s?|min(?:ute)?s?|hours?|hrs?|days?|weeks?|wks?|months?|years?|yrs?)"
    r"\s+ago\b"
    r"|\bvor\s+(?:\d+|einer?|einem|einen|ein\s+paar)\s+"
    r"(?:sekunden?|sek\.?|minuten?|min\.?|stunden?|std\.?|tag(?:en)?|wochen?|monat(?:en)?|jahr(?:en)?)(?!\w)"
    r"|\bil\s+y\s+a\s+(?:\d+|une?|quelques)\s+(?:secondes?|minutes?|min|heures?|h|jours?|semaines?|mois|ans?|années?)\b"
    r"|\bhace\s+(?:\d+|una?|unos|unas)\s+(?:segundos?|minutos?|min|horas?|h|d[ií]as?|semanas?|mes(?:es)?|años?)\b"
    r"|\bh[aá]\s+(?:\d+|uma?)\s+(?:segundos?|minutos?|min|horas?|h|dias?|semanas?|m[eê]s(?:es)?|anos?)\b"
    r"|\b(?:\d+|uma?)\s+(?:segundos?|minutos?|horas?|dias?|semanas?|m[eê]s(?:es)?|anos?)\s+atr[aá]s\b"
    r"|\b(?:\d+|un|una|uno)\s+(?:second[oi]|minut[oi]|or[ae]|giorn[oi]|settiman[ae]|mes[ei]|ann[oi])\s+fa\b"
    r"|\b(?:\d+|een|één)\s+(?:seconden?|sec|minuten|minuut|min|uur|uren|dagen|dag|weken|week|maanden|maand|jaren|jaar)"
    r"\s+geleden\b"
    r"|(?:\b\d+\s+)?\b(?:sekund[aęy]?|sek|minut[aęy]?|min|godzin[aęy]?|godz|dni|dzień|dzien|tygodni[ea]?|tydzień|tydzien"
    r"|miesi[aą]c[ea]?|miesięcy|miesiecy|rok|roku|lat[a]?)\s+temu\b"
    r"|(?:\b\d+\s+)?\b(?:секунд[уы]?|сек|минут[уы]?|мин|часов|часа|час|ч|день|дня|дней|дн|недел[юиь]|недель|нед"
    r"|месяцев|месяца|месяц|мес|года|год|лет)\s+назад\b"
    rf"|(?:(?<!\d)\d+|半|几|幾|一|两)\s*(?:{_CJK_UNITS})(?:\s*\d+\s*(?:秒钟?|分钟|分鐘|分))?\s*前",
    re.IGNORECASE,
)
_SHOWN_DATE = re.compile(
    # day month [year] [time]: "15 mai 2019 à 08h07", "21. Jan. 2015", "3 de mayo de 2020", "11 maja 2021"
    rf"(?<!\d)\d{{1,2}}(?:st|nd|rd|th|er|º|°|ª)?\.?\s*(?:de\s+|of\s+)?(?:{_SHOWN_MONTHS}){_NOT_LETTER}\.?"
    rf"(?:[\W_]{{0,4}}$|[\W_]{{0,4}}(?:(?:{_AFTER_MONTH_LABELS})[\W_]{{1,3}})?\d)"
    # month day: "September 12, 2018 at 4:47 pm", "Jun 20th at 2:41 am", "April 12 2018, 04:34:23 UTC"
    rf"|(?<![^\W\d_])(?:{_SHOWN_MONTHS}){_NOT_LETTER}(?:\.\s*|\s+)\d{{1,2}}(?:st|nd|rd|th)?(?!\d)"
    r"(?:[\W_]{0,4}$|\s*,|\s+\d|\s*[@•·|\u2013-]|\s+(?:at|um|à)\b)"
    # numeric: "14. 01. 2020", "02-11-2023", "12/04/2020"; ISO and year first: "2010-05-24", "2019/05/15"
    rf"|(?<![\d./-]){_DAY_OF_MONTH}\s?([./-])\s?{_DAY_OF_MONTH}\s?\1\s?(?:\d{{4}}|\d{{2}})(?!\d)"
    rf"|(?<!\d)\d{{4}}([-./]){_MONTH_NUMBER}\2{_DAY_OF_MONTH}(?!\d)"
    # day.month, year: "05.11, 2008 @ 10:20" (old WordPress themes)
    rf"|(?<![\d./-]){_DAY_OF_MONTH}\.{_MONTH_NUMBER},\s?\d{{4}}(?!\d)"
    # Chinese, Japanese, Korean: "2019年5月15日", "5月15日"
    r"|\d{2,4}\s*[年년]\s*\d{1,2}\s*[月월]|\d{1,2}\s*[月월]\s*\d{1,2}\s*[日号일]",
    re.IGNORECASE,
)
# "yesterday", "heute, 14:03", "ayer a las 10:15", "вчера в 12:30": alone or with a time close behind, so that
# "Hier geht's zum Rezept" and "Today's headlines" are not dates.
_SHOWN_DAY_WORD = re.compile(
    rf"(?:{_AGO_WORDS})(?:[\W_]*$|[\s,]+(?:[^\W\d_]+\s+){{0,2}}\d{{1,2}}[:h.]\d{{2}})|(?:{_JUST_NOW})[\W_]*$",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
_MAX_SHOWN_DATE_CHARS = 60
_MAX_SHOWN_DATE_WORDS = 10


def looks_like_shown_date(text: str) -> bool:
    """Whether a short text is a date or age as a comment header shows it, in any of the languages above.

    Called on every short text node of a page, so it is precompiled regexes (no dateparser) over at most 60
    characters; anything longer, or over ten words, is a sentence that mentions a date rather than a date.
    """
    text = text.strip()
    if not 0 < len(text) <= _MAX_SHOWN_DATE_CHARS or len(text.split()) > _MAX_SHOWN_DATE_WORDS:
        return False
    if _DIGIT.search(text) and _SHOWN_DATE.search(text):  # most texts have no digit: skip the month lists
        return True
    return bool(_SHOWN_DAY_WORD.match(text) or _RELATIVE_SHOWN.search(text))


# Languages dateparser tries after the page's own: the ones detection knows, English first as before.
DEFAULT_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl", "pl", "ru", "zh")
_MAX_PARSE_CHARS = 200
# The base without a page date: no comment was written in 1900, so a result in 1900 had no year shown.
_NO_REFERENCE_BASE = datetime(1900, 1, 1)
# Linear on runs of spaces: neither starts with a bare ``\s``-run (the spaces left are collapsed after).
_VIA_CLIENT = re.compile(r"(?<=\s)via\s+\S.*$", re.IGNORECASE)  # "5 小时 7 分钟前 via Android"
_SEPARATOR = re.compile(r"[•·|@]")
_H_TIME = re.compile(r"\b(\d{1,2})h(\d{2})\b", re.IGNORECASE)  # French "08h07"
_DAY_MONTH_COMMA_YEAR = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2}),\s?(\d{4})(?!\d)")  # "05.11, 2008"
_NUMERIC_DATE = re.compile(r"(?<![\d./-])(\d{1,2})\s?([./-])\s?(\d{1,2})\s?\2\s?(?:\d{4}|\d{2})(?!\d)")
_WORD = re.compile(r"[^\W\d_]{3,}")
# "Yesterday at 3:15 PM", "heute, 14:03": a day named relative to today, so relative too.
_DAY_WORD_START = re.compile(rf"(?:{_AGO_WORDS}|{_JUST_NOW}){_NOT_LETTER}", re.IGNORECASE)


def parse_shown_datetime(
    raw: str, *, reference: datetime | None = None, languages: Sequence[str] | None = None
) -> datetime | None:
    """Parse a date as a comment header shows it ("2 days ago at 07:52 am", "3. November 2023 um 20:14 Uhr",
    "hace 3 días", "5 小时 7 分钟前"). None if unparseable.

    ``languages`` (ISO 639-1 codes, the page's ``<html lang>``) are tried first, then DEFAULT_LANGUAGES.
    Relative dates count back from ``reference``, the page's own date; without one they, and dates shown
    without a year, give None: never the wall clock, so extraction is reproducible.
    """
    if len(raw) > _MAX_PARSE_CHARS * 2:  # no date is that long; cleaning is not run on unbounded input
        return None
    text = _clean_shown(raw)
    if not text or len(text) > _MAX_PARSE_CHARS:
        return None
    relative = bool(_RELATIVE_SHOWN.search(text) or _DAY_WORD_START.match(text))
    if relative and reference is None:
        return None
    order = _date_order(text, languages)
    if not relative and not _WORD.search(text):
        # Numbers, separators and short labels: dateutil keeps a written zone ("+02:00", "JST") and is fast.
        parsed = _dateutil(text, reference, dayfirst=order == "DMY")
        if parsed is not None:
            return parsed
    parsed = _dateparser(text, reference, _language_order(languages), order)
    if parsed is not None and relative and reference is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=reference.tzinfo)  # counted back on the reference's clock
    return parsed


def _clean_shown(raw: str) -> str:
    """Drop what surrounds a shown date and stops parsers: brackets, "via Android", "•" / "|" / "@", "08h07"."""
    text = _VIA_CLIENT.sub("", raw.strip().strip("()[]{}").strip())
    text = _SEPARATOR.sub(" ", _DAY_MONTH_COMMA_YEAR.sub(r"\1.\2.\3", text)).strip()
    if not _RELATIVE_SHOWN.search(text):
        text = _H_TIME.sub(r"\1:\2", text)
    return " ".join(text.split())


def _date_order(text: str, languages: Sequence[str] | None) -> str | None:
    """Day or month first in an all-number date ("02-11-2023"): dots and dashes are day first wherever they are
    written; slashes are month first for English (as before) and day first for a page in another language."""
    match = _NUMERIC_DATE.search(text)
    if match is None:
        return None
    first, separator, second = int(match[1]), match[2], int(match[3])
    if first > 12:
        return "DMY"
    if second > 12:
        return "MDY"
    if separator != "/":
        return "DMY"
    primary = next((code.strip().lower().replace("_", "-") for code in languages or () if code.strip()), "en")
    return "MDY" if primary in {"en", "en-us"} else "DMY"


def _dateutil(text: str, reference: datetime | None, *, dayfirst: bool) -> datetime | None:
    """dateutil for all-number dates; the missing parts come from ``reference``, and without one a date
    shown without its year is None rather than a guess."""
    default = (reference or _NO_REFERENCE_BASE).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        parsed = dateutil_parser.parse(text, default=default, tzinfos=TZINFOS, dayfirst=dayfirst)
    except (ValueError, OverflowError):
        return None
    return None if reference is None and parsed.year == _NO_REFERENCE_BASE.year else parsed


@lru_cache(maxsize=1)
def _supported_languages() -> dict[str, str]:
    """dateparser's language codes by their lower-case form ("zh-hant" -> "zh-Hant")."""
    from dateparser.data.languages_info import language_order

    return {code.lower(): code for code in language_order}


def _language_order(languages: Sequence[str] | None) -> tuple[str, ...]:
    """The page's languages that dateparser knows ("pt-BR" -> "pt"), then DEFAULT_LANGUAGES, each once."""
    ordered: list[str] = []
    supported = _supported_languages() if languages else {}
    for code in languages or ():
        key = code.strip().lower().replace("_", "-")
        known = supported.get(key) or supported.get(key.split("-")[0])
        if known and known not in ordered:
            ordered.append(known)
    return (*ordered, *(code for code in DEFAULT_LANGUAGES if code not in ordered))


@lru_cache(maxsize=4096)
def _dateparser(
    text: str, reference: datetime | None, languages: tuple[str, ...], order: str | None
) -> datetime | None:
    """dateparser, cached: a page repeats its dates ("6 years ago") and each parse costs milliseconds.

    Without a reference the relative parser is off and the base is 1900: a year still 1900 was not shown, so
    nothing depends on today. (REQUIRE_PARTS would make dateparser read "Jun 20th" as June 2020.)
    """
    import dateparser

    settings: dict[str, object] = {
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
        # no timestamps or digit runs ("1234567890", "20210601"): a shown date has separators
        "PARSERS": ["relative-time", "absolute-time"] if reference is not None else ["absolute-time"],
    }
    settings["RELATIVE_BASE"] = _NO_REFERENCE_BASE if reference is None else reference.replace(tzinfo=None)
    if order is not None:
        settings["DATE_ORDER"] = order
    try:
        parsed = dateparser.parse(text, languages=list(languages), settings=settings)
    except (ValueError, OverflowError, TypeError):
        return None
    return None if parsed is None or (reference is None and parsed.year == _NO_REFERENCE_BASE.year) else parsed
