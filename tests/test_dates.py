"""Shown comment dates in many languages: which short texts read as dates, and what they parse to."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from moderation.dates import looks_like_shown_date, parse_shown_datetime

REFERENCE = datetime(2021, 6, 1, 12, 0)

SHOWN = [
    # French
    ("le mercredi 15 mai 2019 à 08h07", datetime(2019, 5, 15, 8, 7)),
    ("15 mai 2019 à 08h07", datetime(2019, 5, 15, 8, 7)),
    ("(22 juin 2018 @11h13)", datetime(2018, 6, 22, 11, 13)),
    ("Le 11 septembre 2018 à 12:57", datetime(2018, 9, 11, 12, 57)),
    # German
    ("12. März 2021 um 14:03 Uhr", datetime(2021, 3, 12, 14, 3)),
    ("21. Jan. 2015, 19:04", datetime(2015, 1, 21, 19, 4)),
    ("Di, 21. April 2020 - 16:40", datetime(2020, 4, 21, 16, 40)),
    ("06.11.2023, 13.47 Uhr", datetime(2023, 11, 6, 13, 47)),
    ("vor 2 Tagen", datetime(2021, 5, 30, 12, 0)),
    ("Heute, 14:03", datetime(2021, 6, 1, 14, 3)),
    # Spanish
    ("hace 3 días", datetime(2021, 5, 29, 12, 0)),
    ("3 de mayo de 2020 a las 14:30", datetime(2020, 5, 3, 14, 30)),
    ("12 octubre 2019 a las 9:15", datetime(2019, 10, 12, 9, 15)),
    # Portuguese
    ("1 ano atrás", datetime(2020, 6, 1, 12, 0)),
    ("há 2 dias", datetime(2021, 5, 30, 12, 0)),
    # Italian
    ("2 giorni fa", datetime(2021, 5, 30, 12, 0)),
    # Dutch
    ("3 dagen geleden", datetime(2021, 5, 29, 12, 0)),
    # Polish
    ("wtorek, 11 maja 2021, 23:13", datetime(2021, 5, 11, 23, 13)),
    ("11 maja 2021", datetime(2021, 5, 11)),
    # Russian
    ("5 марта 2020 в 12:30", datetime(2020, 3, 5, 12, 30)),
    ("3 дня назад", datetime(2021, 5, 29, 12, 0)),
    # Chinese
    ("5 小时 7 分钟前", datetime(2021, 6, 1, 6, 53)),
    ("5 小时 7 分钟前 via Android", datetime(2021, 6, 1, 6, 53)),
    ("2019年5月15日", datetime(2019, 5, 15)),
    # numeric
    ("02-11-2023 • 16h43", datetime(2023, 11, 2, 16, 43)),
    ("on 2010-05-24", datetime(2010, 5, 24)),
    ("14. 01. 2020, 13:47", datetime(2020, 1, 14, 13, 47)),
    ("12.04.2020 17:02", datetime(2020, 4, 12, 17, 2)),
    # English
    ("September 12, 2018 at 4:47 pm", datetime(2018, 9, 12, 16, 47)),
    ("2 days ago at 07:52 am", datetime(2021, 5, 30, 7, 52)),
    ("Jun 20th at 2:41 am", datetime(2021, 6, 20, 2, 41)),
    ("April 12 2018, 04:34:23 UTC", datetime(2018, 4, 12, 4, 34, 23)),
    ("Yesterday at 3:15 PM", datetime(2021, 5, 31, 15, 15)),
]


@pytest.mark.parametrize(("shown", "expected"), SHOWN, ids=[shown for shown, _ in SHOWN])
def test_shown_dates_in_many_languages_are_recognised(shown: str, expected: datetime) -> None:
    assert looks_like_shown_date(shown)


@pytest.mark.parametrize(("shown", "expected"), SHOWN, ids=[shown for shown, _ in SHOWN])
def test_shown_dates_in_many_languages_parse_against_the_reference(shown: str, expected: datetime) -> None:
    assert parse_shown_datetime(shown, reference=REFERENCE) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I agree with you",
        "Maya Angelou",
        "May",
        "Mai Thai",
        "Das ist ein guter Artikel",
        "Reply",
        "Nice post, thanks",
        "March on Washington was a great event for all of us",
        "I think that on 12 May 2019 the council decided to raise all the local taxes",
        "2 out of 3",
        "21. Maynard James Keenan",
        "Hier geht's zum Rezept",
        "Today's headlines",
        "10 marathons",
        "dabei seit 12/2006",
    ],
)
def test_sentences_names_and_labels_are_not_dates(text: str) -> None:
    assert not looks_like_shown_date(text)


def test_very_long_input_is_refused_without_scanning_it() -> None:
    assert not looks_like_shown_date("1 " * 50000)
    assert not looks_like_shown_date("12 mai 2019 " + "x" * 100000)


@pytest.mark.parametrize(
    "shown", ["hace 3 días", "1 ano atrás", "5 小时 7 分钟前", "vor 2 Tagen", "3 дня назад", "2 days ago", "yesterday"]
)
def test_relative_dates_without_a_reference_are_none_not_the_wall_clock(shown: str) -> None:
    assert parse_shown_datetime(shown) is None


@pytest.mark.parametrize("shown", ["Jun 20th at 2:41 am", "Le 9 janvier à 13:06", "14:03"])
def test_dates_shown_without_a_year_need_the_reference(shown: str) -> None:
    assert parse_shown_datetime(shown) is None
    assert parse_shown_datetime(shown, reference=REFERENCE) is not None


def test_dates_with_a_year_parse_without_a_reference() -> None:
    assert parse_shown_datetime("15 mai 2019 à 08h07") == datetime(2019, 5, 15, 8, 7)
    assert parse_shown_datetime("2020-04-22T07:33:47+02:00") == datetime(
        2020, 4, 22, 7, 33, 47, tzinfo=timezone(timedelta(hours=2))
    )


def test_slashed_dates_are_month_first_in_english_and_day_first_for_other_page_languages() -> None:
    assert parse_shown_datetime("02/11/2023", reference=REFERENCE) == datetime(2023, 2, 11)
    assert parse_shown_datetime("02/11/2023", reference=REFERENCE, languages=["en"]) == datetime(2023, 2, 11)
    assert parse_shown_datetime("02/11/2023", reference=REFERENCE, languages=["fr"]) == datetime(2023, 11, 2)
    assert parse_shown_datetime("14/04/2020 at 3:00 pm", reference=REFERENCE) == datetime(2020, 4, 14, 15, 0)


def test_page_language_hint_accepts_regional_and_unknown_codes() -> None:
    expected = datetime(2021, 5, 29, 12, 0)
    assert parse_shown_datetime("há 3 dias", reference=REFERENCE, languages=["pt-BR"]) == expected
    assert parse_shown_datetime("há 3 dias", reference=REFERENCE, languages=["xx", ""]) == expected


def test_relative_date_keeps_the_time_zone_of_an_aware_reference() -> None:
    zone = timezone(timedelta(hours=2))
    parsed = parse_shown_datetime("hace 2 horas", reference=REFERENCE.replace(tzinfo=zone))
    assert parsed == datetime(2021, 6, 1, 10, 0, tzinfo=zone)


@pytest.mark.parametrize("text", ["1618000000", "Reply", ""])
def test_bare_numbers_and_words_do_not_parse(text: str) -> None:
    assert parse_shown_datetime(text, reference=REFERENCE) is None
