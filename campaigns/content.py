"""A campaign's Markdown as readers get it: sanitised HTML, readable plain text, a teaser.

Markdown is parsed by markdown-it-py (CommonMark, plus tables and strikethrough). Raw HTML an
editor pastes is let through the parser and then everything goes through nh3 (ammonia) with
a short allow-list: what survives cannot run script in a mail client or in the archive page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"https"})  # an http image is mixed content on the archive page

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "s", "strong", "sub",
        "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
# Tags dropped together with what is inside them: their content is code or chrome, not prose.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
        "noscript", "noembed", "noframes", "template", "textarea", "select", "title", "xmp",
        "svg", "math",
    }
)  # fmt: skip

_TABLE_ALIGN = re.compile(r"^text-align:(left|right|center)$")
_URL_NOISE = re.compile(r"[\t\n\r]")
_OPENING_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_CLOSING_TAG = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)")
_FIRST_PARAGRAPH = re.compile(r"<p>.*?</p>", re.DOTALL)

_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class RenderedContent:
    html: str
    text: str


def render(markdown: str) -> RenderedContent:
    """Both versions of one body, as the compose preview and each message show them."""
    return RenderedContent(render_html(markdown), render_text(markdown))


def render_html(markdown: str) -> str:
    tokens = _markdown.parse(markdown)
    for token in tokens:
        _table_alignment_as_attribute(token)
    return sanitise_html(_markdown.renderer.render(tokens, _markdown.options, {}))


def sanitise_html(fragment: str) -> str:
    """Only the allowed tags and attributes; links to http(s)/mailto, images from https."""
    return _cleaner.clean(fragment)


def first_paragraph(fragment: str) -> str:
    """The first paragraph of a rendered body (the members-only teaser), or "" if none."""
    match = _FIRST_PARAGRAPH.search(sanitise_html(fragment))
    return match.group(0) if match else ""


def url_scheme(url: str) -> str | None:
    """The scheme a browser would see (it ignores tabs and line breaks); None if relative."""
    cleaned = _URL_NOISE.sub("", url).lstrip("".join(map(chr, range(0x21))))
    scheme, colon, _ = cleaned.partition(":")
    if not colon or any(mark in scheme for mark in "/?#"):
        return None
    return scheme.lower()


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """A second look at every URL, after nh3's own: the allowed schemes, never a relative one."""
    if (tag, attribute) == ("a", "href"):
        return value if url_scheme(value) in LINK_SCHEMES else None
    if (tag, attribute) == ("img", "src"):
        return value if url_scheme(value) in IMAGE_SCHEMES else None
    return value


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_keep_attribute,
    url_schemes=set(LINK_SCHEMES),
    url_relative="deny",  # a relative link goes nowhere in a mail client
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def _table_alignment_as_attribute(token: Token) -> None:
    """markdown-it aligns cells with style="text-align:…", which the sanitiser drops."""
    if token.type in ("th_open", "td_open") and token.attrs:
        match = _TABLE_ALIGN.match(str(token.attrs.get("style", "")))
        token.attrs = {"align": match.group(1)} if match else {}


def render_text(markdown: str) -> str:
    """The plain-text version: paragraphs, headings, lists and quotes kept; links as
    "text (url)"; emphasis marks and raw HTML tags dropped."""
    return _PlainText().render(_markdown.parse(markdown))


class _Frame:
    """One level of nesting that prefixes lines: a quote ("> ") or a list item ("- ", "2. ")."""

    def __init__(self, first: str, rest: str) -> None:
        self.first, self.rest, self.used = first, rest, False

    def take(self) -> str:
        prefix = self.rest if self.used else self.first
        self.used = True
        return prefix


class _PlainText:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.frames: list[_Frame] = []
        self.counters: list[int | None] = []  # per open list: next number, or None for bullets
        self.row: list[str] | None = None  # the cells of the table row being read
        self.rows_written = 0
        self.new_block = False  # the next line starts a block even if its token says tight
        self.heading: str | None = None

    def render(self, tokens: list[Token]) -> str:
        for index, token in enumerate(tokens):
            self._block(token, tokens[index - 1] if index else None)
        return "\n".join(self.lines).strip("\n") + "\n" if self.lines else ""

    def _block(self, token: Token, previous: Token | None) -> None:
        kind = token.type
        if kind == "heading_open":
            self.heading = token.tag
        elif kind == "inline":
            self._inline_block(token, previous)
        elif kind in ("bullet_list_open", "ordered_list_open"):
            self.new_block |= not self.counters  # a list stands apart from the text before it
            start = token.attrs.get("start", 1) if kind == "ordered_list_open" else None
            self.counters.append(int(start) if start is not None else None)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.counters.pop()
        elif kind == "list_item_open":
            self._open_item()
        elif kind == "list_item_close":
            frame = self.frames.pop()
            if not frame.used:
                self.frames.append(frame)
                self._emit("", tight=True)
                self.frames.pop()
        elif kind == "blockquote_open":
            self.frames.append(_Frame("> ", "> "))
        elif kind == "blockquote_close":
            self.frames.pop()
        elif kind in ("code_block", "fence"):
            code = token.content.rstrip("\n")
            self._emit("\n".join("    " + line for line in code.split("\n")))
        elif kind == "hr":
            self._emit("* * *")
        elif kind == "html_block":
            text = _html_as_text(token.content).strip()
            if text:
                self._emit(text)
        elif kind == "table_open":
            self.rows_written = 0
        elif kind == "tr_open":
            self.row = []
        elif kind == "tr_close" and self.row is not None:
            self._emit(" | ".join(self.row), tight=self.rows_written > 0)
            self.rows_written += 1
            self.row = None

    def _open_item(self) -> None:
        number = self.counters[-1]
        if number is None:
            marker = "- "
        else:
            marker = f"{number}. "
            self.counters[-1] = number + 1
        self.frames.append(_Frame(marker, " " * len(marker)))

    def _inline_block(self, token: Token, previous: Token | None) -> None:
        text = _inline_text(token.children or [])
        if self.row is not None:
            self.row.append(" ".join(text.split()))
            return
        if self.heading:
            text = " ".join(text.split())
            underline = {"h1": "=", "h2": "-"}.get(self.heading)
            self.heading = None
            self._emit(f"{text}\n{underline * len(text)}" if underline else text)
            return
        if not text.strip():
            return  # a paragraph of nothing but dropped HTML
        tight = previous is not None and previous.hidden  # a paragraph of a tight list
        self._emit(text, tight=tight)

    def _emit(self, text: str, tight: bool = False) -> None:
        if self.lines and (self.new_block or not tight):
            # The blank line between blocks carries the quote marks of the blocks it is inside.
            inside = "".join(frame.rest for frame in self.frames if frame.used)
            self.lines.append(inside.rstrip())
        self.new_block = False
        for line in text.split("\n"):
            prefix = "".join(frame.take() for frame in self.frames)
            self.lines.append((prefix + line).rstrip())


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    link_start: int | None = None
    href = ""
    dropping: str | None = None  # inside <script>…</script> written inline: skip to its end
    for child in children:
        kind = child.type
        if dropping:
            if kind == "html_inline" and _tag_name(child.content, closing=True) == dropping:
                dropping = None
        elif kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "html_inline":
            name = _tag_name(child.content, closing=False)
            dropping = name if name in DROPPED_WITH_CONTENT else None
            parts.append("\n" if name == "br" else "")
        elif kind == "image":
            alt = _inline_text(child.children or []) or str(child.attrs.get("alt", ""))
            parts.append(f"[{alt}]" if alt else "")
        elif kind == "link_open":
            link_start, href = len(parts), str(child.attrs.get("href", ""))
        elif kind == "link_close" and link_start is not None:
            label = "".join(parts[link_start:])
            if url_scheme(href) in LINK_SCHEMES and _shown_url(href) != label.strip():
                parts.append(f" ({_shown_url(href)})" if label.strip() else _shown_url(href))
            link_start = None
    return "".join(parts)


def _tag_name(markup: str, *, closing: bool) -> str | None:
    match = _CLOSING_TAG.match(markup) if closing else _OPENING_TAG.match(markup)
    return match.group(1).lower() if match else None


def _shown_url(href: str) -> str:
    return href.removeprefix("mailto:")


def _html_as_text(fragment: str) -> str:
    kept = nh3.clean(fragment, tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))
    return html.unescape(kept)
