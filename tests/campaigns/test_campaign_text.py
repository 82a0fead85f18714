"""A campaign's plain-text version: what a reader sees in a client that shows no HTML."""

from __future__ import annotations

from campaigns.content import render, render_text


def test_links_read_as_text_then_url_in_brackets():
    text = render_text("Read [the story](https://newsroom.example/story) today.")

    assert text == "Read the story (https://newsroom.example/story) today.\n"


def test_a_link_whose_text_is_its_url_is_written_once():
    assert render_text("See <https://newsroom.example/>.") == "See https://newsroom.example/.\n"


def test_a_mail_link_shows_the_address():
    text = render_text("Write to [the editors](mailto:letters@newsroom.example).")

    assert text == "Write to the editors (letters@newsroom.example).\n"


def test_a_link_the_html_drops_shows_no_url_in_the_text_either():
    text = render_text('Click <a href="javascript:alert(1)">here</a> or [home](/).')

    assert text == "Click here or home.\n"


def test_paragraphs_are_separated_by_a_blank_line_and_keep_their_line_breaks():
    text = render_text("First line\nsame paragraph.\n\nSecond paragraph.")

    assert text == "First line\nsame paragraph.\n\nSecond paragraph.\n"


def test_bulleted_numbered_and_nested_lists_keep_their_markers_and_indents():
    markdown = "Before:\n\n- apples\n- pears\n  1. green\n  2. red\n- plums\n\n3. third\n4. fourth"

    assert render_text(markdown) == (
        "Before:\n\n- apples\n- pears\n  1. green\n  2. red\n- plums\n\n3. third\n4. fourth\n"
    )


def test_headings_stand_out_underlined():
    text = render_text("# The Briefing\n\n## Today\n\n### Smaller\n\nBody.")

    assert text == ("The Briefing\n============\n\nToday\n-----\n\nSmaller\n\nBody.\n")


def test_quotes_are_marked_on_every_line():
    text = render_text("> Said on Monday,\n> and again.\n>\n> - with a list")

    assert text == "> Said on Monday,\n> and again.\n>\n> - with a list\n"


def test_emphasis_marks_and_raw_html_tags_are_dropped_but_their_words_kept():
    text = render_text("Some **bold**, *italic* and <b>pasted</b> words.<script>x()</script>")

    assert text == "Some bold, italic and pasted words.\n"


def test_code_blocks_are_indented_and_tables_read_row_by_row():
    text = render_text("```\nmake run\n```\n\n| name | count |\n|---|---|\n| a | 1 |")

    assert text == "    make run\n\nname | count\na | 1\n"


def test_images_show_their_description():
    assert render_text("![A chart of turnout](https://img.example/c.png)") == (
        "[A chart of turnout]\n"
    )


def test_render_gives_both_versions_of_one_body():
    rendered = render("Hello [reader](https://newsroom.example/).")

    assert rendered.html.startswith("<p>Hello <a href=")
    assert rendered.text == "Hello reader (https://newsroom.example/).\n"


def test_an_empty_body_renders_as_empty_text():
    assert render_text("") == ""
    assert render_text("   \n\n") == ""
