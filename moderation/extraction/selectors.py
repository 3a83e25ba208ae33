"""HTML selectors for comment sections, as data: named by concept, compiled once, most specific first.

Every rule names a markup pattern that several sites or a whole platform share (WordPress core and its
themes, wpDiscuz, Epoch, Blogger, Drupal, Disqus' no-script fallback, XenForo widgets, SPIP forums, new
Reddit), never a domain. The extractor tries :data:`COMMENT_ITEMS` in order and keeps the first rule
whose items survive validation; :data:`COMMENT_ITEM_CLASS` and the generic detector come after.
"""

from __future__ import annotations

import re

from lxml.etree import XPath
from lxml.html import HtmlElement


def has_class(name: str) -> str:
    """An XPath predicate: the element's class attribute holds the whole token ``name``."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


#: An ancestor that names itself a comment section (id or class), for rules that need one.
_IN_COMMENT_REGION = (
    "ancestor::*[contains(translate(@id, 'COMENTS', 'comenTS'), 'comments')"
    " or contains(translate(@class, 'COMENTS', 'comenTS'), 'comments')"
    " or contains(@class, 'commentlist') or contains(@class, 'comment-list')]"
)

#: Comment items by platform markup, most specific first: (rule name, XPath).
COMMENT_ITEMS: tuple[tuple[str, XPath], ...] = (
    # wpDiscuz: div.wc-comment#wc-comm-<id>_<parent>, replies nested inside.
    ("wpdiscuz", XPath("//div[starts-with(@id, 'wc-comm-')]")),
    # Epoch (WordPress plugin): article.epoch-comment-body, replies in div.epoch-child.
    ("epoch", XPath(f"//article[{has_class('epoch-comment-body')}]")),
    # XenForo "comments from the forums" widgets.
    ("xenforo", XPath("//li[starts-with(@id, 'xenforo-comment-')]")),
    # New Reddit, server-rendered: div.Comment.t1_<id> with "level N" markers.
    ("new_reddit", XPath(f"//div[{has_class('Comment')}][contains(@class, 't1_')]")),
    # Drupal 8+: article.js-comment (replies in div.indented).
    ("drupal", XPath(f"//article[{has_class('js-comment')}]")),
    # SPIP forums: li.forum-fil, replies in a nested ul.
    ("spip_forum", XPath(f"//li[{has_class('forum-fil')}]")),
    # Disqus' server-rendered fallback for readers without JavaScript.
    ("disqus_noscript", XPath(f"//*[{has_class('d-noscript-comments')}]//div[{has_class('comment')}]")),
    # Thesis-style definition lists: dt.comment (author, time) then dd.comment (text).
    ("comment_definition_list", XPath(f"//dl/dd[{has_class('comment')}]")),
    # WordPress core, Blogger and most themes: li.comment with an id (comment-N, li-comment-N, c<N>).
    ("comment_list_item", XPath(f"//li[{has_class('comment')}][@id]")),
    # schema.org microdata: comments, and reviews (a guest's or buyer's comment on the page's subject).
    (
        "microdata",
        XPath(
            "//*[contains(@itemtype, 'schema.org/Comment') or contains(@itemtype, 'schema.org/UserComments')"
            " or contains(@itemtype, 'schema.org/Review')]"
        ),
    ),
    # Themes that render comments as div.comment#comment-N (nested or with sibling ul.children).
    ("comment_div", XPath(f"//div[{has_class('comment')}][starts-with(@id, 'comment')]")),
    # Drupal 7 and native boxes: div.comment inside a section that names itself comments.
    (
        "comment_in_region",
        XPath(f"//*[self::div or self::li or self::article][{has_class('comment')}][{_IN_COMMENT_REGION}]"),
    ),
)

#: Rules whose comment bodies show the comment's HTML source as text: Disqus' no-script fallback prints each
#: message as written (``<p>``, ``<br>``, ``<pre><code>``, entities), escaped. Read as HTML at extraction.
MARKUP_AS_TEXT = frozenset({"disqus_noscript"})

#: A class token naming one comment in custom markup: comment-item, kommentar-item, c-comment-container,
#: mtbnewsCommentContainer, comment_card (not an ad container, not a wrapper of a part).
COMMENT_ITEM_CLASS = re.compile(
    r"(?:^|[-_])(?:comment|kommentar|commentaire|reaction)[-_]?(?:item|container|card|entry)$"
    r"|(?<=[a-z])(?:Comment|Kommentar)(?:Item|Container|Card|Entry)$"
)

#: Pingbacks and trackbacks: link notifications that re-use comment markup.
LINK_NOTIFICATIONS = XPath(
    f"//li[{has_class('pingback')} or {has_class('trackback')}]"
    f" | //*[@id='trackback_list' or @id='pingback_list' or {has_class('trackbacks')} or {has_class('pings')}]/li"
)
#: Widgets that list recent comments of the whole site; they are never the thread.
SIDEBAR_NAME = re.compile(
    r"^(?:sidebar|sidebar[-_].*|.*[-_]sidebar|widget|widget[-_].*|.*[-_]widget(?:[-_]\d+)?|secondary)$",
    re.IGNORECASE,
)
#: A widget of the site's latest comments, whatever else it is named.
RECENT_COMMENTS_NAME = re.compile(r"recent[-_]?comments|latest[-_]?comments|letzte[-_]?kommentare", re.IGNORECASE)
#: What only the article's own column holds; a "widget" or "sidebar" box around it is page layout.
ARTICLE_MARK = XPath(".//h1 | .//*[@itemprop='articleBody' or @itemprop='headline' or contains(@class, 'post-body')]")
RECENT_COMMENTS = XPath(f"//li[{has_class('recentcomments')}]")

#: Containers of replies (a class token): their nesting depth is the reply depth. Besides the names
#: platforms use, any "…comment-sub" / "…reply-sub" wrapper of the replies shown after their parent.
REPLY_CONTAINER_CLASS = re.compile(
    r"^(?:children|indented|epoch-child|thread|replies|comment-replies|sub-comments|comment-children)$"
    r"|(?:comment|reply)[-_]sub$"
)


def is_reply_container(el: HtmlElement) -> bool:
    """Whether the element holds replies to the comment before or around it."""
    return any(REPLY_CONTAINER_CLASS.search(token) for token in (el.get("class") or "").split())


#: Explicit depth markers: WordPress depth-N, wpDiscuz wc_comment_level-N, BEM thread--level-N, "level N".
DEPTH_CLASS = re.compile(r"(?:^|\s|-)(?:depth|level|wc_comment_level|comment-level)-(\d+)(?:\s|$)")
DEPTH_LABEL = re.compile(r"^level (\d+)$", re.IGNORECASE)
#: A flat item shown indented under the item before it (chefkoch-style comment-sub, answer rows).
SUB_ITEM_CLASS = re.compile(r"(?:^|\s)(?:comment-sub|sub-comment|comment-reply-item|is-reply)(?:\s|$)")

#: Parts of a comment, tried in order inside one item.
AUTHOR = (
    XPath(".//*[@itemprop='author' or @itemprop='creator']//*[@itemprop='name']"),
    XPath(
        f".//*[{has_class('fn')} or {has_class('comment-author-name')} or {has_class('wc-comment-author')}"
        f" or {has_class('epoch-author-link')} or {has_class('author-name')} or {has_class('comment_author')}"
        f" or {has_class('c-author')} or {has_class('username')} or {has_class('benutzer')}]"
    ),
    XPath(f".//cite[{has_class('user')}] | .//a[{has_class('author')}]"),
    XPath(
        ".//*[contains(translate(@class, 'AUTHOR', 'author'), 'author') and not(contains(@class, 'avatar'))"
        " and not(contains(@class, 'vcard') and .//img and not(normalize-space()))]"
    ),
    XPath(f".//*[{has_class('user')} or {has_class('name')}]"),
)
DATE = (
    XPath(".//time[normalize-space()]"),
    XPath(".//*[@itemprop='datePublished' or @itemprop='dateCreated' or @itemprop='commentTime']"),
    XPath(
        f".//*[{has_class('comment-date')} or {has_class('wc-comment-date')} or {has_class('comment-time')}"
        f" or {has_class('comment_time')} or {has_class('post-date')} or {has_class('commentmetadata')}"
        f" or {has_class('comment-metadata')} or {has_class('datetime')} or {has_class('date')}"
        f" or {has_class('datum')} or {has_class('w-comments-item-date')} or {has_class('published')}]"
    ),
)
#: A time shown next to the date in its own element (Drupal 7: li.date + li.time).
TIME_BESIDE_DATE = XPath(f"following-sibling::*[{has_class('time')}][1]")
BODY = XPath(
    f".//*[@itemprop='text' or @itemprop='commentText' or @itemprop='reviewBody' or @itemprop='description'"
    f" or {has_class('comment-content')}"
    f" or {has_class('comment-text')} or {has_class('comment_text')} or {has_class('wc-comment-text')}"
    f" or {has_class('epoch-comment-content')} or {has_class('field--name-comment-body')}"
    f" or {has_class('field-comment-body')} or {has_class('comment-body')} or {has_class('contenttext')}"
    f" or {has_class('w-comments-item-text')} or {has_class('forum-texte')} or {has_class('kommentar-text')}"
    f" or {has_class('format_text')} or {has_class('js-read-more')} or {has_class('RichTextJSON-root')}"
    f" or {has_class('c-comment-card__text')} or {has_class('content')} or {has_class('entry-content')}"
    " or contains(@class, 'CommentMessage') or contains(@class, 'comment-message') or contains(@class, 'reply_content')"
    " or contains(@class, 'reply-content') or contains(@class, 'reply-text') or contains(@class, 'message-content')]"
)
#: Furniture inside an item that is never comment text.
FURNITURE = XPath(
    ".//script | .//style | .//noscript | .//template | .//form | .//button | .//img | .//svg | .//textarea"
    f" | .//*[{has_class('says')} or {has_class('reply')} or {has_class('comment-reply')}"
    f" or {has_class('comment-reply-link')} or {has_class('comment-actions')} or {has_class('comment-util')}"
    f" or {has_class('comment-likes')} or {has_class('toolbar')} or {has_class('rating')}"
    f" or {has_class('comment-edit')} or {has_class('links')} or {has_class('hidden')}"
    " or contains(@class, 'report-link') or contains(@class, 'vote') or contains(@class, 'Like')"
    " or contains(@class, 'like-') or contains(@class, 'comment-footer') or contains(@class, 'wc-footer')"
    " or contains(@class, 'reply-button') or contains(@class, 'xf-comment-reply')"
    " or contains(concat(' ', @class), ' avatar') or contains(@class, '-avatar') or contains(@class, '_avatar')"
    " or contains(@class, 'quote_link') or contains(@class, 'direct_link') or contains(@class, 'reply-login')]"
)
#: Links and buttons that act on a comment, by their whole text (gold rule: never comment text).
ACTION_TEXT = re.compile(
    r"^(?:reply|antworten|beantworten|répondre|repondre|report|melden|zitieren|quote|share|teilen|partager"
    r"|delete|löschen|edit|bearbeiten|permalink|#|like|liken|gefällt mir|j'aime|flag|signaler"
    r"|collapse|expand|einklappen|ausklappen|hide|show more|more)$",
    re.IGNORECASE,
)
ACTIONS = XPath(".//a | .//button | .//span[@role='button']")
#: The header of an item (author and date live here; never text).
HEADER = XPath(
    ".//header | .//footer | .//h6"
    f" | .//*[{has_class('comment-meta')} or {has_class('comment-metadata')} or {has_class('comment-header')}"
    f" or {has_class('comment-author')} or {has_class('meta')} or {has_class('comment-info')}"
    f" or contains(@class, 'AuthorContainer') or contains(@class, 'MessageInfo') or contains(@class, 'item-meta')"
    " or contains(@class, 'kommentar-info')]"
)
#: A title the commenter wrote above the text (rule: prepended to the text); SPIP's forum-titre.
COMMENT_TITLE = XPath(f"./h3 | ./h4 | ./h5 | ./*[{has_class('comment-title')}] | .//*[{has_class('forum-titre')}]")
#: A class that names a title (never the author's name).
TITLE_CLASS = re.compile(r"titl|titre|titel|titolo|tytu", re.IGNORECASE)

#: Counts a section announces: "167 comments", "54 Kommentare", "Comments (27)", "Vos réactions (11)".
ANNOUNCED_COUNT = (
    re.compile(
        r"(?<![\d.,])(\d[\d.,]*)\s+(?:comments?|kommentare?|commentaires?|responses?|thoughts|ergänzungen"
        r"|réactions?|antworten|replies)\b",
        re.IGNORECASE,
    ),
    re.compile(r"(?:comments?|kommentare|commentaires|réactions)\s*[(\[]\s*(\d[\d.,]*)\s*[)\]]", re.IGNORECASE),
)
ANNOUNCEMENTS = XPath(
    "//h1 | //h2 | //h3 | //h4 | //*[contains(@class, 'count') or contains(@class, 'title')][not(*)]"
    " | //a[contains(@href, '#comments') or contains(@href, 'comments')]"
    # Short boxes, buttons and headers that name themselves after the comments: "[ 167 comments ]",
    # "View comments (27)", a "953 Kommentare" button; not counters inside a comment ("3 replies").
    " | //*[self::div or self::span or self::p or self::button or self::li]"
    "[contains(translate(@class, 'COMENTKR', 'comentkr'), 'comment')"
    " or contains(translate(@class, 'COMENTKR', 'comentkr'), 'kommentar')]"
    "[string-length(normalize-space()) < 60][not(ancestor::*[@id and starts-with(@id, 'comment-')])]"
)

#: A section that names itself the comments (id or class), in the languages of the sites we read.
COMMENT_REGION_NAME = re.compile(
    r"comment|kommentar|komentar|коммент|comentar|réaction|reaction|reactie|discussion|leserbrief|forum|评论|評論",
    re.IGNORECASE,
)
#: Visible words that name a comment section or its counter, in any language we read. Words that also
#: name other things ("replies", "reviews", "discussion") count only beside a number ("17 replies").
_STRONG_COMMENT_WORDS = (
    r"comments?\b|kommentar|commentaires?\b|comentarios?\b|comentários?\b|comment[io]\b|reacties?\b|komentarz"
    r"|коммент|评论|評論|回复|回覆|留言|コメント|댓글|تعليق|التعليقات|leserbriefe\b"
)
_COUNTED_WORDS = (
    r"responses?|replies|réactions?|reactions|antworten|respuestas|respostas|risposte|odpowiedzi|ответ\w*"
    r"|bewertungen|reviews|beiträge|posts|discussion|diskussion"
)
COMMENT_WORDS = re.compile(
    rf"{_STRONG_COMMENT_WORDS}|\d\s*(?:{_COUNTED_WORDS})\b|\b(?:{_COUNTED_WORDS})\s*[(\[:]\s*\d",
    re.IGNORECASE,
)
#: An item whose whole text is a list control or a placeholder, not a comment: a counter ("Show more
#: comments (20)") or the absence of one ("No comments yet", "Kein Kommentar vorhanden").
_NO_COMMENT = re.compile(
    r"\bno comments yet\b|\bbe the first to comment|\bkeine? kommentar vorhanden"
    r"|\bnoch keine kommentare|\bpas encore de commentaire|\baucun commentaire|\bno hay comentarios"
    r"|\bsem comentários|\bnão há comentários|\bnessun commento|\bbrak komentarzy|нет комментариев|暂无评论|暂无回复",
    re.IGNORECASE,
)
_COUNTER = re.compile(
    rf"\d\s*(?:{_STRONG_COMMENT_WORDS}|{_COUNTED_WORDS})|(?:{_STRONG_COMMENT_WORDS}|{_COUNTED_WORDS})\s*[(\[]\s*\d",
    re.IGNORECASE,
)
_MAX_CONTROL_CHARS = 160


def is_placeholder(text: str) -> bool:
    """Whether an item's short text is a counter or a "no comments" placeholder rather than a comment."""
    return len(text) <= _MAX_CONTROL_CHARS and bool(_NO_COMMENT.search(text) or _COUNTER.search(text))


#: A byline that says who wrote a block: a link to a user's page or an author attribute.
USER_MARK = XPath(
    ".//a[contains(@href, '/user') or contains(@href, '/member') or contains(@href, '/profile')"
    " or contains(@href, '/people/') or contains(@href, '/u/') or contains(@href, '/~')]"
    " | descendant-or-self::*[@data-author or @data-username or @data-user-id or @itemprop='author']"
)
REGIONS = XPath("//*[self::div or self::section or self::ul or self::ol or self::article][@id or @class]")
