"""Patterns that mark the parts of a comment page, shared by many sites, compiled once.

Each is named for what it marks, never for a site. Most specific first where order matters.
"""

from __future__ import annotations

import re

# Text dumps of article pages (what a browser's "save as text" or a crawler's text layer gives).

#: "1 Comment", "23 Comments", "1,204 comments", "No comments", "0 Kommentare".
COMMENT_COUNTER = re.compile(
    r"^(?P<count>\d[\d,.']*|no|one)\s+(?:comments?|kommentare?|commentaires?|responses?|replies)$",
    re.IGNORECASE,
)
#: A comment's vote line: "0 ( +0 / -0 )", "-3 ( +1 / -4 )", "12 (+15/-3)".
VOTE_LINE = re.compile(
    r"^(?P<score>[+\-\u2212\u2013]?\d+)\s*\(\s*\+\s*(?P<up>\d+)\s*/\s*[-\u2212\u2013]\s*(?P<down>\d+)\s*\)$"
)
#: The prompt that opens a comment list ("Login to comment", "Log in to comment").
COMMENTS_OPEN = re.compile(r"^(?:log\s?in|sign\s?in|register)\s+to\s+comment$", re.IGNORECASE)
#: The prompt after the list, asking for a new comment.
COMMENTS_CLOSE = re.compile(
    r"^(?:log\s?in|sign\s?in|register)\s+to\s+(?:leave|post|write|add)\s+(?:a\s+|your\s+)?comment",
    re.IGNORECASE,
)
#: An agency or author credit closing an article body: "© KYODO", "(c) Reuters".
ARTICLE_CREDIT = re.compile(r"^(?:©|\(c\))\s*(?!\d{4}\b)(?P<credit>\S.{0,60})$", re.IGNORECASE)
#: The site's own copyright footer: "©2023 GPlusMedia Inc.", "© 2024 Example Media".
SITE_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright)\s*\d{4}\b", re.IGNORECASE)
#: A photo caption with its credit: "... Photo: AP/Name", "... Image: Reuters".
#: Linear on long runs of spaces: one optional group holds its own spaces (two ``\s*`` around an optional
#: group backtrack quadratically).
PHOTO_CAPTION = re.compile(r"\b(?:photo|image|picture|foto|bild)(?:\s*credit)?\s*:\s*\S", re.IGNORECASE)
#: A dateline opening a news story: "TOKYO", "NEW YORK", "RIO DE JANEIRO".
DATELINE = re.compile(r"^[A-Z][A-Z.'\- ]{1,40}$")
#: The page header's date marker: "date 2023-12-18".
HEADER_DATE = re.compile(r"\bdate\s+(?P<date>\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)
