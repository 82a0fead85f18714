"""A campaign's HTML: what an editor writes survives, nothing that can run script does."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from campaigns.content import first_paragraph, render_html, sanitise_html
from tests.campaigns.xss_payloads import HTML_PAYLOADS, MARKDOWN_PAYLOADS

# What a mail client or the archive page may be shown: the test's own list, not the module's.
HARMLESS_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "s", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
HARMLESS_ATTRIBUTES = {"href", "title", "src", "alt", "width", "height", "start", "align", "rel"}
LINK_SCHEMES = {"http", "https", "mailto"}


class _Markup(HTMLParser):
    """Every element and comment in a fragment, as a browser's tokeniser would see them.

    The fragment is followed by more markup, as in a message or a page (the footer): a tag or
    attribute left open at its end would take that markup in, and is counted as an element.
    """

    FOLLOWING_MARKUP = "\"'><p>footer</p>"

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []
        self.feed(fragment + self.FOLLOWING_MARKUP)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.comments.append(data)


def browser_scheme(url: str) -> str | None:
    """The scheme as a browser reads it: tabs and line breaks removed, leading controls too."""
    url = re.sub(r"[\t\n\r]", "", url).lstrip("".join(chr(c) for c in range(0x21)))
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.\-]*):", url)
    return match.group(1).lower() if match else None


def executable_constructs(fragment: str) -> list[str]:
    markup = _Markup(fragment)
    problems = [f"comment {text!r}" for text in markup.comments]
    for tag, attributes in markup.elements:
        if tag not in HARMLESS_TAGS:
            problems.append(f"<{tag}>")
        for name, value in attributes.items():
            if name not in HARMLESS_ATTRIBUTES:
                problems.append(f"<{tag} {name}=...>")
            elif name == "href" and browser_scheme(value or "") not in LINK_SCHEMES:
                problems.append(f"<{tag} href={value!r}>")
            elif name == "src" and browser_scheme(value or "") != "https":
                problems.append(f"<{tag} src={value!r}>")
        if tag == "a" and "href" in attributes:
            if attributes.get("rel") != "noopener noreferrer":
                problems.append(f"<a> without rel=noopener noreferrer: {attributes}")
    return problems


def test_the_payload_lists_are_as_long_as_promised():
    assert len(HTML_PAYLOADS) >= 40
    assert len(MARKDOWN_PAYLOADS) >= 15


def test_the_inspector_catches_what_it_is_meant_to_catch():
    raw_payload_problems = [executable_constructs(payload) for payload in HTML_PAYLOADS]

    assert sum(1 for problems in raw_payload_problems if problems) >= 40
    assert executable_constructs('<a href="jav&#x09;ascript:x()" rel="noopener noreferrer">')
    assert executable_constructs('<img src="http://plain.example/x.png">')
    assert executable_constructs("<iframe src=http://xss.example/ <")


@pytest.mark.parametrize("payload", HTML_PAYLOADS + MARKDOWN_PAYLOADS)
def test_no_payload_survives_markdown_rendering(payload):
    assert executable_constructs(render_html(payload)) == []


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
def test_no_payload_survives_when_pasted_inside_a_paragraph_list_or_link(payload):
    for markdown in (
        f"Before {payload} after",
        f"- item {payload}\n- next",
        f"[{payload}](https://ok.example/)",
        f"> {payload}",
    ):
        assert executable_constructs(render_html(markdown)) == [], markdown


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
def test_no_payload_survives_sanitising_or_the_teaser(payload):
    assert executable_constructs(sanitise_html(payload)) == []
    assert executable_constructs(first_paragraph(f"<p>{payload}</p>")) == []


def test_script_and_style_are_dropped_with_their_content_not_shown_as_text():
    html = render_html("Hello <script>alert('x')</script><style>p{color:red}</style>world")

    assert "alert" not in html
    assert "color:red" not in html
    assert "Hello" in html and "world" in html


def test_markdown_links_keep_their_url_and_open_with_noopener():
    html = render_html("Read [the story](https://newsroom.example/story?id=1&x=2).")

    assert (
        '<a href="https://newsroom.example/story?id=1&amp;x=2" rel="noopener noreferrer">'
        "the story</a>" in html
    )


def test_mailto_links_are_kept():
    html = render_html("Write to [us](mailto:letters@newsroom.example).")

    assert 'href="mailto:letters@newsroom.example"' in html


def test_images_from_https_are_kept_and_plain_http_or_data_images_lose_their_source():
    html = render_html(
        "![chart](https://img.example/chart.png) ![old](http://img.example/old.png) "
        "![inline](data:image/png;base64,iVBORw0KGgo=)"
    )

    assert '<img src="https://img.example/chart.png" alt="chart">' in html
    assert '<img alt="old">' in html
    assert '<img alt="inline">' in html


def test_formatting_an_editor_writes_or_pastes_survives():
    html = render_html(
        "# Title\n\n**bold** *italic* ~~gone~~ `code`\n\n1. one\n2. two\n\n"
        "> quoted\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n<b>pasted</b> <sup>1</sup>"
    )

    for fragment in (
        "<h1>Title</h1>",
        "<strong>bold</strong>",
        "<em>italic</em>",
        "<s>gone</s>",
        "<code>code</code>",
        "<ol>\n<li>one</li>",
        "<blockquote>",
        '<td align="right">2</td>',
        "<b>pasted</b>",
        "<sup>1</sup>",
    ):
        assert fragment in html


def test_relative_links_are_dropped_because_they_lead_nowhere_in_a_mail_client():
    html = render_html("[home](/) and [section](#top)")

    assert "href" not in html
    assert "home" in html and "section" in html


def test_the_teaser_is_the_first_paragraph():
    html = render_html("# Headline\n\nFirst *paragraph*.\n\nSecond paragraph.")

    assert first_paragraph(html) == "<p>First <em>paragraph</em>.</p>"


def test_a_body_without_a_paragraph_has_an_empty_teaser():
    assert first_paragraph(render_html("- only\n- a list")) == ""
