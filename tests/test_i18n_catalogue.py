"""Nothing a reader sees is left untranslated: every visible string of a reader-facing template is
marked, and every marked string has a Ukrainian translation, compiled as the app loads it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import nodes

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
UKRAINIAN = ROOT / "translations" / "uk" / "LC_MESSAGES" / "messages.po"
UKRAINIAN_PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)
# Staff pages may stay English (CONTRACT.md "Languages"); every other template is read by readers.
READER_TEMPLATES = sorted(
    path
    for path in TEMPLATES.rglob("*")
    if path.is_file() and path.relative_to(TEMPLATES).parts[0] != "staff"
)
EXPRESSION = "\ue000"  # stands for whatever {{ … }} or {% trans %} writes
LETTER = re.compile(r"[^\W\d_]")
# Not words: a path or address ("/membership"), a format placeholder ("%.1f", "%(goal)s").
NOT_WORDS = re.compile(r"(?:https?://|/)\S*|%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[a-z%]")
# Attributes a reader meets as text: read aloud, shown on hover, or written into the page.
TEXT_ATTRIBUTES = {"aria-label", "aria-description", "alt", "title", "placeholder"}


def _constants_written_out(expression: nodes.Node):
    """String literals an {{ … }} writes as they are ("a" if x else "b"), not a call's arguments."""
    if isinstance(expression, nodes.Const) and isinstance(expression.value, str):
        yield expression.value
    elif isinstance(expression, nodes.CondExpr):
        for branch in (expression.expr1, expression.expr2):
            if branch is not None:
                yield from _constants_written_out(branch)
    elif isinstance(expression, nodes.Concat):
        for part in expression.nodes:
            yield from _constants_written_out(part)
    elif isinstance(expression, nodes.Add):
        yield from _constants_written_out(expression.left)
        yield from _constants_written_out(expression.right)
    elif isinstance(expression, nodes.Filter) and expression.node is not None:
        yield from _constants_written_out(expression.node)


def _skeleton(node: nodes.Node, blocks: dict, text: list[str], literals: list[str]) -> None:
    """The page's own text in order, each expression and translated message a placeholder."""
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.Block) and blocks.get(child.name, child) is not child:
            _skeleton(blocks[child.name], blocks, text, literals)
        elif isinstance(child, nodes.Output):
            for item in child.nodes:
                if isinstance(item, nodes.TemplateData):
                    text.append(item.data)
                else:
                    text.append(EXPRESSION)
                    literals.extend(_constants_written_out(item))
        else:
            _skeleton(child, blocks, text, literals)


def _page(env, source: str, name: str) -> tuple[nodes.Template, dict]:
    """The outermost layout with this template's blocks in place (text in a block such as
    `body_class` is read where the layout puts it, inside an attribute)."""
    tree = env.parse(source, name)
    blocks = {block.name: block for block in tree.find_all(nodes.Block)}
    extends = next(tree.find_all(nodes.Extends), None)
    if extends is None:
        return tree, blocks
    parent_source = env.loader.get_source(env, extends.template.value)[0]
    layout, layout_blocks = _page(env, parent_source, extends.template.value)
    return layout, {**layout_blocks, **blocks}


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden_depth += 1
        attributes = dict(attrs)
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value:
                self.found.append(value)
        if tag == "input" and attributes.get("type") in ("submit", "button", "reset"):
            self.found.append(attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden_depth -= 1

    def handle_data(self, data):
        if not self._hidden_depth:
            self.found.append(data)


def unmarked_strings(env, source: str, name: str = "<test>") -> list[str]:
    """What a reader would read in this template that no gettext call or trans block wraps."""
    text: list[str] = []
    literals: list[str] = []
    layout, blocks = _page(env, source, name)
    _skeleton(layout, blocks, text, literals)
    visible = _VisibleText()
    visible.feed("".join(text))
    visible.close()
    pieces = [
        " ".join(piece.replace(EXPRESSION, " ").split()) for piece in visible.found + literals
    ]
    return [piece for piece in pieces if LETTER.search(NOT_WORDS.sub(" ", piece))]


def test_the_check_finds_english_left_unmarked_in_text_attributes_and_literals(app):
    source = """<p>{{ _("Marked") }} {% trans %}Also marked{% endtrans %}</p>
      <p>Please confirm your address.</p>
      <button aria-label="Close the form">{{ _("Close") }}</button>
      <p>{{ "member" if count == 1 else "members" }} {{ url_for("static", filename="x.css") }}</p>
      <script>var notShown = "ok";</script>"""
    assert unmarked_strings(app.jinja_env, source) == [
        "Please confirm your address.",
        "Close the form",
        "member",
        "members",
    ]


@pytest.mark.parametrize(
    "template", READER_TEMPLATES, ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_no_reader_facing_template_has_an_unmarked_string(app, template):
    source = template.read_text(encoding="utf-8")
    name = str(template.relative_to(TEMPLATES))
    assert unmarked_strings(app.jinja_env, source, name) == []


def _extracted_messages() -> set[tuple[str | None, str]]:
    """What `make translations-extract` finds in the reader-facing templates."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    found = set()
    for filename, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        if Path(filename).parts[0] == "templates" and Path(filename).parts[1] != "staff":
            msgid = message[0] if isinstance(message, tuple) else message
            found.add((context, msgid))
    return found


@pytest.fixture(scope="module")
def ukrainian():
    with open(UKRAINIAN, "rb") as source:
        return read_po(source, locale="uk")


def test_every_marked_string_has_a_ukrainian_translation(ukrainian):
    missing = []
    for context, msgid in sorted(_extracted_messages(), key=str):
        message = ukrainian.get(msgid, context=context)
        forms = message.string if message else None
        forms = forms if isinstance(forms, tuple) else (forms,)
        if message is None or message.fuzzy or not all(forms):
            missing.append(msgid)
    assert missing == [], "run `make translations-update` and translate these"


def test_the_ukrainian_catalogue_declares_ukrainian_plural_forms(ukrainian):
    assert ukrainian.plural_forms == UKRAINIAN_PLURAL_FORMS
    plural_messages = [message for message in ukrainian if isinstance(message.id, tuple)]
    assert plural_messages and all(len(message.string) == 3 for message in plural_messages)


def test_ukrainian_translations_keep_every_placeholder(ukrainian):
    problems = [(message.id, errors) for message, errors in ukrainian.check() if errors]
    assert problems == []


def test_ukrainian_translations_add_no_straight_quote_that_would_end_an_attribute(ukrainian):
    added = [
        message.id
        for message in ukrainian
        if message.id
        for form in (message.string if isinstance(message.string, tuple) else (message.string,))
        if form.count('"') > str(message.id).count('"')
    ]
    assert added == []


def _as_loaded(context, msgid, string):
    # read_mo hands back a context as bytes and plural forms as a list.
    context = context.decode() if isinstance(context, bytes) else context
    msgid = msgid[0] if isinstance(msgid, list | tuple) else msgid
    string = tuple(string) if isinstance(string, list | tuple) else string
    return (context, msgid), string


def test_the_compiled_catalogue_the_app_loads_matches_its_source(ukrainian):
    compiled_path = UKRAINIAN.with_suffix(".mo")
    assert compiled_path.exists(), "run `make translations` (make venv / make test do it)"
    with open(compiled_path, "rb") as compiled_file:
        compiled = dict(_as_loaded(m.context, m.id, m.string) for m in read_mo(compiled_file))
    source = dict(_as_loaded(m.context, m.id, m.string) for m in ukrainian if m.id)
    stale = [key for key, string in source.items() if compiled.get(key) != string]
    assert stale == [], "run `make translations`"
