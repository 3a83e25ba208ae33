"""Question pages and forum threads: the question or the thread's opener is the article, answers and
replies are the comments, and a comment on an answer hangs under that answer.

Such pages are not "an article with comments below": every post has the same shape and the first one
is what the thread is about. Posts are found by markup that several platforms share, never by domain:
schema.org ``QAPage``/``Question``/``Answer``/``Comment`` and ``DiscussionForumPosting`` (microdata or
JSON-LD), Stack Exchange-style ``data-questionid``/``data-answerid`` posts with ``comments-list``, and the
post blocks of XenForo, vBulletin, phpBB and Discourse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import lxml.html
from lxml.etree import ParserError, XPath
from lxml.html import HtmlElement

from moderation.dates import looks_like_shown_date, parse_shown_datetime
from moderation.extraction.html import jsonld
from moderation.extraction.html.article import reference_time
from moderation.extraction.html.text import BLOCKS, collapse, visible_text
from moderation.extraction.selectors import has_class
from moderation.thread import Article, Comment, Votes, stable_comment_id

__all__ = ["FORUM_RULE", "QA_RULE", "Discussion", "read_discussion"]

QA_RULE = "qa_page"
FORUM_RULE = "forum_thread"


def _itemtype(name: str) -> str:
    return f"contains(@itemtype, 'schema.org/{name}')"


_MEMBER_LINK = (
    "contains(@href, '/users/') or contains(@href, '/members/') or contains(@href, '/u/')"
    " or contains(@href, '/user/') or contains(@href, 'memberlist.php')"
)

# Q&A posts: schema.org microdata, and the Stack Exchange shape other Q&A platforms copy.
_QUESTIONS = XPath(
    f"//*[{_itemtype('Question')}][not(ancestor-or-self::*[{_itemtype('FAQPage')}])]"
    f" | //*[@data-questionid] | //*[@id='question'][{has_class('question')}]"
)
_ANSWERS = XPath(
    f"//*[{_itemtype('Answer')}][not(ancestor-or-self::*[{_itemtype('FAQPage')}])]"
    f" | //*[@data-answerid] | //*[{has_class('answer')}][starts-with(@id, 'answer-')]"
)
_QA_COMMENTS = XPath(
    f"//*[{_itemtype('Comment')}] | //*[@data-comment-id] | //*[{has_class('comment')}][starts-with(@id, 'comment-')]"
)
_QUESTION_TITLE = XPath(
    "//*[@id='question-header']//h1 | //*[contains(@class, 'question-title')]"
    " | //*[contains(@class, 'question-hyperlink')]"
)

# Forum posts, one rule per post block shape; the first rule whose posts show who wrote them wins.
_FORUM_POSTS = (
    # XenForo 2 (article.message--post) and 1 (li.message#post-N with data-author).
    XPath(f"//*[{has_class('message--post')}] | //li[{has_class('message')}][@data-author][starts-with(@id, 'post-')]"),
    # vBulletin 4: li.postcontainer / postbit #post_N.
    XPath(
        f"//*[{has_class('postcontainer')} or {has_class('postbit')} or {has_class('postbitlegacy')}]"
        "[starts-with(@id, 'post_')]"
    ),
    # phpBB: div.post#pN.
    XPath(
        f"//div[{has_class('post')}][starts-with(@id, 'p')][string-length(@id) > 1]"
        "[translate(substring(@id, 2), '0123456789', '') = '']"
    ),
    # Discourse: div.topic-post.
    XPath(f"//*[{has_class('topic-post')}]"),
)
_FORUM_HEAD = XPath(f"//*[{_itemtype('DiscussionForumPosting')}]")
_FORUM_REPLIES = XPath(f".//*[{_itemtype('Comment')}]")
_THREAD_TITLE = XPath(
    "//*[contains(@class, 'p-title-value') or contains(@class, 'topic-title') or contains(@class, 'thread-title')"
    " or contains(@class, 'threadtitle') or contains(@class, 'fancy-title')]"
)
_TITLE_LABELS = XPath(f".//*[{has_class('label')} or contains(@class, 'label-append') or contains(@class, 'prefix')]")
_HEADINGS = XPath("//h1")

# The parts of one post, most specific first.
_BODY = (
    XPath(".//*[@itemprop='text' or @itemprop='articleBody' or @itemprop='commentText']"),
    XPath(f".//*[{has_class('js-post-body')} or {has_class('post-text')} or {has_class('comment-copy')}]"),
    XPath(f".//*[{has_class('bbWrapper')} or {has_class('messageText')}]"),
    XPath(f".//*[{has_class('postcontent')}] | .//*[starts-with(@id, 'post_message_')]"),
    XPath(f".//*[{has_class('cooked')} or {has_class('comment-body')} or {has_class('content')}]"),
)
_AUTHOR = (
    XPath(".//*[@itemprop='author' or @itemprop='creator']//*[@itemprop='name']"),
    XPath(".//*[@itemprop='author' or @itemprop='creator']"),
    XPath(f".//*[{has_class('user-details')}]//a[{_MEMBER_LINK}]"),
    XPath(
        f".//*[{has_class('comment-user')} or {has_class('username')} or {has_class('message-name')}"
        f" or {has_class('user-link')} or {has_class('postauthor')}]"
    ),
    XPath(f".//a[{_MEMBER_LINK}]"),
    XPath(f".//*[{has_class('author')} or {has_class('creator')}]"),
)
_DATE = (
    XPath(f".//*[{has_class('relativetime')} or {has_class('relativetime-clean')}]"),
    XPath(".//time"),
    XPath(".//*[@itemprop='dateCreated' or @itemprop='datePublished' or @itemprop='commentTime']"),
    XPath(
        f".//*[{has_class('date')} or {has_class('post-date')} or {has_class('postdate')}"
        f" or {has_class('comment-date')} or {has_class('datetime')} or {has_class('post-time')}"
        f" or {has_class('relative-date')} or {has_class('timestamp')}]"
    ),
)
#: A user card (Stack Exchange's post signature): an edited post shows the editor's card first.
_USER_CARDS = XPath(f".//*[{has_class('user-info')}]")
_CARD_ACTION = XPath(f".//*[{has_class('user-action-time')}]")
_SCORE = XPath(
    f".//*[contains(@class, 'vote-count') or contains(@class, 'netvote-count') or {has_class('comment-score')}]"
)
_UPVOTES = XPath(".//*[@itemprop='upvoteCount']")
_DOWNVOTES = XPath(".//*[@itemprop='downvoteCount']")
_NUMBERED = XPath(".//a | .//span | .//*[@itemprop='position']")
#: Inside a post body, never its text: scripts, controls, signatures, reaction and like bars.
_BODY_JUNK = XPath(
    ".//script | .//style | .//noscript | .//template | .//button | .//form | .//textarea"
    " | .//*[contains(translate(@class, 'SIGNATUR', 'signatur'), 'signatur') or contains(@class, 'expandLink')"
    " or contains(@class, 'expand-link') or contains(@class, 'reactionsBar') or contains(@class, 'likesBar')]"
)

# Which page of a thread this is.
_PREVIOUS_PAGE = XPath("//link[@rel='prev']")
_CURRENT_PAGE = XPath(
    "//*[@aria-current='page'] | //*[contains(@class, 'pagination') or contains(@class, 'pageNav')"
    " or contains(@class, 'pagenav') or contains(@class, 'pager')]//*[contains(@class, 'current')"
    " or contains(@class, 'active') or contains(@class, 'selected')]"
)
_TITLE_PAGE = re.compile(
    r"(?:^|[-\u2013|:,(]\s*)(?:page|seite|página|pagina|strona|sida|sivu)\s+(\d+)(?:\s+\S+\s+\d+)?\s*\)?\s*(?:[-\u2013|:,]|$)",
    re.IGNORECASE,
)

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_COUNT = re.compile(r"[+\-\u2212]?\d+")
_POST_NUMBER = re.compile(r"#\s?(\d{1,7})")
_EXPAND = re.compile(
    r"(?:click to expand|click to show|zum erweitern anklicken|cliquez pour (?:agrandir|développer|afficher))\W*",
    re.IGNORECASE,
)
_NOT_A_NAME = re.compile(
    r"(?:users?|asked|answered|edited|modified|posted|commented|by|von|par|author|member|said|wrote)\W*",
    re.IGNORECASE,
)
_NAME_LABEL = re.compile(r"^(?:by|von|par)\s+|\s*(?:said|says|wrote|schrieb|a écrit)\s*:?\s*$", re.IGNORECASE)
_DATE_LABEL = re.compile(
    r"^(?:asked|answered|edited|posted|commented|start date|on|am|le)\b\s*:?\s*|^[\s»|\u00b7\u2022,:-]+", re.IGNORECASE
)
_MAX_NAME = 80
_MAX_DATE = 60
_SKIPPED_TEXT = frozenset({"script", "style", "noscript", "template"})
#: Block elements (a line each); ``cite`` too, as forum quote headers ("Name wrote:") show on their own line.
_BLOCKS = BLOCKS | {"cite"}


@dataclass
class Discussion:
    """A question page or forum thread: the question or opener as the article, the rest as comments."""

    article: Article
    comments: list[Comment]
    rule: str
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass
class _Post:
    """One post as the page shows it; ids and dates are settled once the whole thread is read."""

    source_id: str | None
    author: str | None
    shown: str | None
    machine: str | None
    paragraphs: list[str]
    votes: Votes = field(default_factory=Votes)
    parent: int | None = None
    on_opener: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.paragraphs)

    @property
    def signed(self) -> bool:
        return bool(self.author or self.shown or self.machine)


def read_discussion(doc: HtmlElement, page: Article) -> Discussion | None:
    """The page as a Q&A page or a forum thread, or None when it is neither (then the comment readers
    run). ``page`` is trafilatura's reading, kept for what the posts do not show (url, page date)."""
    return _qa_markup(doc, page) or _qa_jsonld(doc, page) or _forum(doc, page)


# --- Q&A pages ----------------------------------------------------------------------------------------


def _qa_markup(doc: HtmlElement, page: Article) -> Discussion | None:
    """The innermost question element is the question: Stack Exchange wraps ``#question`` in the
    schema.org ``Question`` scope together with the title and the answers."""
    candidates = _QUESTIONS(doc)
    innermost = [q for q in candidates if not any(o is not q and _inside(q, o) for o in candidates)]
    if not innermost:
        return None
    question = innermost[0]
    answers = [a for a in _ANSWERS(doc) if a is not question]
    answered = set(answers)
    comments = [c for c in _QA_COMMENTS(doc) if c is not question and c not in answered]
    posts = {question, *answers, *comments}
    comments = [c for c in comments if _owner(c, posts) is not None]
    order = {el: i for i, el in enumerate(doc.iter())}
    items = sorted([*answers, *comments], key=order.__getitem__)
    opener = _read_post(question, posts)
    replies: list[_Post] = []
    index: dict[HtmlElement, int] = {}
    for node in items:
        post = _read_post(node, posts)
        owner = _owner(node, posts)
        if node not in answered:
            post.on_opener = owner is question
            post.parent = index.get(owner) if owner is not None else None
        index[node] = len(replies)
        replies.append(post)
    if not opener.text or not (opener.signed or any(p.signed for p in replies)):
        return None
    return _discussion(opener, replies, _question_title(doc, question), page, QA_RULE)


def _question_title(doc: HtmlElement, question: HtmlElement) -> str | None:
    """The question's schema.org ``name`` (its own, not its author's), else the question heading."""
    scopes = [question, *question.iterancestors()]
    for scope in scopes:
        if scope.get("itemscope") is None or "Question" not in (scope.get("itemtype") or ""):
            continue
        for el in scope.xpath(".//*[@itemprop='name' or @itemprop='headline']"):
            nearest = el.xpath("ancestor::*[@itemscope][1]")
            if nearest and nearest[0] is scope and (name := el.get("content") or visible_text(el)):
                return name
    for el in [*_QUESTION_TITLE(doc), *_HEADINGS(doc)]:
        if shown := visible_text(el):
            return shown
    return None


def _qa_jsonld(doc: HtmlElement, page: Article) -> Discussion | None:
    """A schema.org ``Question`` in JSON-LD (a ``QAPage``'s main entity): accepted answer first, then the
    suggested ones, each followed by its comments; comments on the question come before the answers."""
    for question in _ld_questions(doc):
        opener = _ld_post(question)
        replies: list[_Post] = []
        for comment in jsonld.as_list(question.get("comment")):
            _ld_comments(comment, None, replies, on_opener=True)
        seen: set[str] = set()
        answers = [*jsonld.as_list(question.get("acceptedAnswer")), *jsonld.as_list(question.get("suggestedAnswer"))]
        for answer in answers:
            if not isinstance(answer, dict) or "Answer" not in jsonld.as_list(answer.get("@type")):
                continue
            post = _ld_post(answer)
            key = post.source_id or post.text
            if key in seen:
                continue
            seen.add(key)
            replies.append(post)
            parent = len(replies) - 1
            for comment in jsonld.as_list(answer.get("comment")):
                _ld_comments(comment, parent, replies, on_opener=False)
        if opener.text and (opener.signed or any(p.signed for p in replies)):
            title = question.get("name") or question.get("headline")
            return _discussion(opener, replies, collapse(str(title)) if title else None, page, QA_RULE)
    return None


def _ld_questions(doc: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON-LD ``Question`` outside an ``FAQPage`` (FAQ entries are not a discussion)."""
    for data in jsonld.blocks(doc):
        yield from _ld_find(data)


def _ld_find(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for value in data:
            yield from _ld_find(value)
    elif isinstance(data, dict):
        kinds = jsonld.as_list(data.get("@type"))
        if "FAQPage" in kinds:
            return
        if "Question" in kinds:
            yield data
            return
        for value in data.values():
            yield from _ld_find(value)


def _ld_comments(node: Any, parent: int | None, replies: list[_Post], *, on_opener: bool) -> None:
    if not isinstance(node, dict) or "Comment" not in jsonld.as_list(node.get("@type")):
        return
    post = _ld_post(node)
    post.parent, post.on_opener = parent, on_opener
    replies.append(post)
    index = len(replies) - 1
    for reply in jsonld.as_list(node.get("comment")):
        _ld_comments(reply, index, replies, on_opener=False)


def _ld_post(node: dict[str, Any]) -> _Post:
    shown = jsonld.comment_date(node)
    machine = _ISO.search(shown) if shown else None
    ident = str(node.get("@id") or node.get("url") or "") or None
    return _Post(
        source_id=ident.rpartition("#")[2] if ident else None,
        author=jsonld.comment_author(node),
        shown=shown,
        machine=machine.group(0) if machine else None,
        paragraphs=_ld_paragraphs(node.get("text") or node.get("commentText")),
        votes=Votes(up=_ld_count(node.get("upvoteCount")), down=_ld_count(node.get("downvoteCount"))),
    )


def _ld_paragraphs(value: Any) -> list[str]:
    """JSON-LD text is plain or HTML (schema.org allows both); either way, paragraphs as shown."""
    raw = str(value or "")
    if re.search(r"<[a-zA-Z/]", raw):
        try:
            return _paragraphs(lxml.html.fragment_fromstring(raw, create_parent="div"), frozenset())
        except ParserError:
            pass
    return [line for line in (collapse(part) for part in raw.splitlines()) if line]


def _ld_count(value: Any) -> int | None:
    return int(value) if isinstance(value, int) or (isinstance(value, str) and _COUNT.fullmatch(value)) else None


# --- forum threads ------------------------------------------------------------------------------------


def _forum(doc: HtmlElement, page: Article) -> Discussion | None:
    for rule in _FORUM_POSTS:
        nodes = rule(doc)
        if not nodes:
            continue
        posts = set(nodes)
        read = [_read_post(node, posts) for node in nodes]
        if not _reads_as_posts(read):
            continue
        if _opens_thread(doc, nodes[0], posts):
            return _discussion(read[0], read[1:], _thread_title(doc, None), page, FORUM_RULE)
        return _discussion(None, read, _thread_title(doc, None), page, FORUM_RULE)
    return _forum_microdata(doc, page)


def _forum_microdata(doc: HtmlElement, page: Article) -> Discussion | None:
    """A schema.org ``DiscussionForumPosting`` scope: its own body is the opener (absent on a later
    page), the ``Comment`` scopes inside it are the replies, a comment inside a comment answers it."""
    for head in _FORUM_HEAD(doc):
        nodes = _FORUM_REPLIES(head)
        posts = {head, *nodes}
        opener = _read_post(head, posts)
        replies: list[_Post] = []
        index: dict[HtmlElement, int] = {}
        for node in nodes:
            post = _read_post(node, posts)
            post.parent = index.get(_owner(node, posts))
            index[node] = len(replies)
            replies.append(post)
        if not _reads_as_posts(([opener] if opener.text else []) + replies):
            continue
        return _discussion(opener if opener.text else None, replies, _thread_title(doc, head), page, FORUM_RULE)
    return None


def _reads_as_posts(posts: list[_Post]) -> bool:
    """Some post has text and most show who wrote them or when: a thread, not a list of teasers."""
    signed = sum(1 for post in posts if post.signed)
    return any(post.text for post in posts) and signed * 2 >= len(posts)


def _opens_thread(doc: HtmlElement, first: HtmlElement, posts: set[HtmlElement]) -> bool:
    """Whether the first post is the thread's opener: its post number is 1, or, where posts carry no
    number, the page is not a later page of the thread."""
    number = _post_number(first, posts)
    if number is not None:
        return number == 1
    return not _later_page(doc)


def _post_number(node: HtmlElement, posts: set[HtmlElement]) -> int | None:
    """The post's "#N" counter (or schema.org ``position``) in its header."""
    body = _body(node, posts)
    for el in _own(node, _NUMBERED, node, posts, body):
        shown = visible_text(el)
        if el.get("itemprop") == "position" and shown.isdigit():
            return int(shown)
        match = _POST_NUMBER.fullmatch(shown)
        if match:
            return int(match.group(1))
    return None


def _later_page(doc: HtmlElement) -> bool:
    """A link to a previous page, a current page number above 1 in the pager, or "Page N" in the title."""
    if _PREVIOUS_PAGE(doc):
        return True
    for el in _CURRENT_PAGE(doc):
        shown = visible_text(el)
        if shown.isdigit():
            return int(shown) > 1
    title = doc.find(".//title")
    match = _TITLE_PAGE.search(visible_text(title)) if title is not None else None
    return bool(match and int(match.group(1)) > 1)


def _thread_title(doc: HtmlElement, head: HtmlElement | None) -> str | None:
    """The thread's headline (schema.org ``headline``/``name``, a thread-title element, the first ``h1``)
    without prefix labels such as XenForo's "Patch Notes" tag."""
    if head is not None:
        for el in head.xpath(".//*[@itemprop='headline' or @itemprop='name']"):
            nearest = el.xpath("ancestor::*[@itemscope][1]")
            if nearest and nearest[0] is head and (name := el.get("content") or visible_text(el)):
                return name
    for el in [*_THREAD_TITLE(doc), *_HEADINGS(doc)]:
        shown = " ".join(_paragraphs(el, frozenset(_TITLE_LABELS(el))))
        if shown:
            return shown
    return None


# --- one post -----------------------------------------------------------------------------------------


def _read_post(node: HtmlElement, posts: set[HtmlElement]) -> _Post:
    """A post's author, date, text and votes, reading only what belongs to it (not to a post inside it,
    not to a quote in its text). Stack Exchange-style user cards are read first, the poster's card, not
    an editor's."""
    body = _body(node, posts)
    card = _user_card(node, posts, body)
    scopes = [card, node] if card is not None else [node]
    author: str | None = None
    shown: str | None = None
    machine: str | None = None
    for scope in scopes:
        author = author or _author(scope, node, posts, body)
        if shown is None and machine is None:
            shown, machine = _date(scope, node, posts, body)
    if shown is None and machine is None:
        shown = _date_like_text(node, posts, body)
    paragraphs: list[str] = []
    if body is not None:
        paragraphs = _paragraphs(body, frozenset(posts - {node}) | frozenset(_BODY_JUNK(body)))
    return _Post(
        source_id=_source_id(node),
        author=author,
        shown=shown,
        machine=machine,
        paragraphs=paragraphs,
        votes=_votes(node, posts, body),
    )


def _body(node: HtmlElement, posts: set[HtmlElement]) -> HtmlElement | None:
    for selector in _BODY:
        for el in selector(node):
            if el not in posts and _owner(el, posts) is node:
                return el
    return None


def _own(
    scope: HtmlElement, selector: XPath, node: HtmlElement, posts: set[HtmlElement], body: HtmlElement | None
) -> list[HtmlElement]:
    """Matches in the post's header: owned by the post, outside its body and any quote."""
    return [
        el
        for el in selector(scope)
        if el not in posts
        and _owner(el, posts) is node
        and not (body is not None and (el is body or _inside(body, el)))
        and not el.xpath("ancestor::blockquote")
    ]


def _user_card(node: HtmlElement, posts: set[HtmlElement], body: HtmlElement | None) -> HtmlElement | None:
    cards = _own(node, _USER_CARDS, node, posts, body)
    for card in cards:
        action = _CARD_ACTION(card)
        if not (action and re.match(r"\s*(?:edited|modified)\b", visible_text(action[0]), re.IGNORECASE)):
            return card
    return None


def _author(scope: HtmlElement, node: HtmlElement, posts: set[HtmlElement], body: HtmlElement | None) -> str | None:
    if scope is node and (named := _name(node.get("data-author") or "")):
        return named
    for selector in _AUTHOR:
        for el in _own(scope, selector, node, posts, body):
            named = _name(el.get("content") or visible_text(el))
            if named:
                return named
    return None


def _name(shown: str) -> str | None:
    """A display name, never a label ("asked", "User") or a date."""
    name = collapse(_NAME_LABEL.sub("", collapse(shown)))
    if not name or len(name) > _MAX_NAME or _NOT_A_NAME.fullmatch(name) or looks_like_shown_date(name):
        return None
    return name


def _date(
    scope: HtmlElement, node: HtmlElement, posts: set[HtmlElement], body: HtmlElement | None
) -> tuple[str | None, str | None]:
    """The date as shown and its machine-readable twin (``datetime``, ``content`` or an ISO ``title``)."""
    for selector in _DATE:
        for el in _own(scope, selector, node, posts, body):
            machine = next(
                (m.group(0) for attr in ("datetime", "content", "title") if (m := _ISO.match(el.get(attr) or ""))),
                None,
            )
            shown = collapse(_DATE_LABEL.sub("", visible_text(el)))
            shown = shown if 0 < len(shown) <= _MAX_DATE else ""
            if shown or machine:
                return shown or None, machine
    return None, None


def _date_like_text(node: HtmlElement, posts: set[HtmlElement], body: HtmlElement | None) -> str | None:
    """A header text that reads as a date where no date element marks it (vBulletin's ``dd``)."""
    for el in node.iter():
        if el is not node and (el in posts or _owner(el, posts) is not node):
            continue
        if not isinstance(el.tag, str) or el.tag in _SKIPPED_TEXT:
            continue
        if body is not None and (el is body or _inside(body, el)):
            continue
        shown = collapse(_DATE_LABEL.sub("", collapse(el.text or "")))
        if shown and len(shown) <= _MAX_DATE and looks_like_shown_date(shown):
            return shown
    return None


def _votes(node: HtmlElement, posts: set[HtmlElement], body: HtmlElement | None) -> Votes:
    """A shown vote count (Stack Exchange's net score) is the score; schema.org ``upvoteCount`` and
    ``downvoteCount`` are up and down votes unless the shown count carries them."""
    score = _count(node.get("data-score") or node.get("data-comment-score"))
    counter = next(iter(_own(node, _SCORE, node, posts, body)), None)
    if score is None and counter is not None:
        score = _count(counter.get("data-value") or visible_text(counter))
    up = next((el for el in _own(node, _UPVOTES, node, posts, body) if el is not counter), None)
    down = next(iter(_own(node, _DOWNVOTES, node, posts, body)), None)
    return Votes(
        up=_count(up.get("content") or visible_text(up)) if up is not None else None,
        down=_count(down.get("content") or visible_text(down)) if down is not None else None,
        score=score,
    )


def _count(shown: str | None) -> int | None:
    shown = (shown or "").strip()
    return int(shown.replace("\u2212", "-")) if _COUNT.fullmatch(shown) else None


def _source_id(node: HtmlElement) -> str | None:
    """The page's id for the post: answer-N, comment-N, post-N, post_N, pN (XenForo's ``js-`` dropped)."""
    content = node.get("data-content") or ""
    if re.fullmatch(r"post-\d+", content):
        return content
    own = node.get("id") or ""
    if any(ch.isdigit() for ch in own):
        return own.removeprefix("js-")
    for attr, prefix in (("data-answerid", "answer-"), ("data-comment-id", "comment-"), ("itemid", "")):
        if value := node.get(attr):
            return f"{prefix}{value}"
    return None


def _owner(el: HtmlElement, posts: set[HtmlElement]) -> HtmlElement | None:
    """The nearest post around the element (the post it belongs to)."""
    return next((ancestor for ancestor in el.iterancestors() if ancestor in posts), None)


def _inside(outer: HtmlElement, inner: HtmlElement) -> bool:
    return any(ancestor is outer for ancestor in inner.iterancestors())


def _paragraphs(element: HtmlElement, skip: frozenset[HtmlElement]) -> list[str]:
    """The element's text as paragraphs (one per block; line breaks in the source are spaces), leaving
    out ``skip`` and expand controls ("Click to expand...") while keeping quotes and their "Name said:"
    headers."""
    parts: list[str] = []
    _walk(element, skip, parts)
    return [line for line in (collapse(part) for part in "".join(parts).split("\n")) if line]


def _walk(element: HtmlElement, skip: frozenset[HtmlElement], parts: list[str]) -> None:
    block = element.tag in _BLOCKS
    if block:
        parts.append("\n")
    if element.text:
        parts.append(element.text.replace("\n", " "))
    for child in element:
        if isinstance(child.tag, str) and child not in skip and not _is_expand_control(child):
            _walk(child, skip, parts)
        if child.tail:
            parts.append(child.tail.replace("\n", " "))
    if block:
        parts.append("\n")


def _is_expand_control(el: HtmlElement) -> bool:
    return len(el) <= 1 and bool(_EXPAND.fullmatch(collapse(el.text_content())))


# --- the thread ---------------------------------------------------------------------------------------


def _discussion(opener: _Post | None, replies: list[_Post], title: str | None, page: Article, rule: str) -> Discussion:
    """The article from the opener (on a later forum page: the thread title only), the comments from the
    replies with the page's ids, parents mapped past posts without text, dates parsed against the page."""
    reference = reference_time(page)
    if opener is not None:
        published = _when(opener, reference)
        article = Article(
            url=page.url,
            title=title or page.title,
            published=published or page.published,
            published_raw=(opener.shown or opener.machine) if published else page.published_raw,
            byline=opener.author,
            body=opener.paragraphs,
        )
    else:
        article = Article(url=page.url, title=title or page.title)
    ids: dict[int, str] = {}
    comments: list[Comment] = []
    for index, post in enumerate(replies):
        if not post.text:
            continue
        position = len(comments)
        taken = set(ids.values())
        ident = post.source_id if post.source_id and post.source_id not in taken else None
        ids[index] = ident or stable_comment_id(article, position, post.author, post.text)
        parent = post.parent
        while parent is not None and parent not in ids:
            parent = replies[parent].parent
        comments.append(
            Comment(
                id=ids[index],
                parent=ids[parent] if parent is not None else None,
                author=post.author,
                published=_when(post, reference),
                published_raw=post.shown or post.machine,
                text=post.text,
                votes=post.votes,
                position=position,
            )
        )
    metadata: dict[str, object] = {}
    if rule == QA_RULE:
        metadata["question_comments"] = [ids[i] for i, post in enumerate(replies) if post.on_opener and i in ids]
    return Discussion(article, comments, rule, metadata)


def _when(post: _Post, reference: datetime | None) -> datetime | None:
    """The machine-readable date where the page gives one, else the shown date read against the page's."""
    parsed = parse_shown_datetime(post.machine) if post.machine else None
    if parsed is None and post.shown:
        parsed = parse_shown_datetime(post.shown, reference=reference)
    return parsed
