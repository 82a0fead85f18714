"""The reader's language: which one a request gets, and numbers, dates and money written in it.

Reader pages and mail exist in English and Ukrainian (CONTRACT.md "Languages"). A request's
language is `?lang=` (then remembered in a cookie), else that cookie, else Accept-Language, else
English. Strings are gettext messages in translations/ (compiled to .mo by `make venv`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode

from babel import Locale
from babel.numbers import get_currency_precision
from flask import Flask, Request, Response, current_app, g, has_request_context, request
from flask_babel import (
    Babel,
    format_currency,
    format_date,
    format_decimal,
    format_percent,
    get_translations,
)
from flask_babel import get_locale as babel_locale
from jinja2 import pass_context
from jinja2.runtime import Context
from werkzeug.datastructures import LanguageAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header

# Each language named in itself, as a reader looks for it in a switch.
LANGUAGES = {"en": "English", "uk": "Українська"}
# Parsed once: Flask-Babel would parse the chosen code again on every request.
_LOCALES = {code: Locale.parse(code) for code in LANGUAGES}
DEFAULT_LANGUAGE = "en"
LANGUAGE_PARAMETER = "lang"
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Day, month name, year: "03 May 2026", "03 травня 2026" (Babel gives the genitive month).
LONG_DATE = "dd MMMM y"
# One or two decimals, as the goal's percent is kept: "0.0%", "42.86%", "12,5%".
PERCENT = "#,##0.0#%"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LanguageChoice:
    code: str
    name: str
    url: str
    current: bool


class _RequestLanguage:
    """What this request says about its language, read from it once and kept for the request.

    The chosen language, whether the page is English-only and whether the reader gave a hint
    are asked for by Flask-Babel, the signup views, templates and the response hook: looked up
    through Flask's proxies each time, a signup walked them about sixteen times.
    """

    __slots__ = ("asked", "english_only", "cookie", "accept_language", "code", "vary")

    def __init__(self, current: Request, english_only_blueprints: frozenset[str]) -> None:
        asked = current.args.get(LANGUAGE_PARAMETER)
        self.asked = asked if asked in LANGUAGES else None
        self.english_only = current.blueprint in english_only_blueprints
        # No Cookie header, no cookies: spared parsing them (werkzeug walks every header).
        has_cookies = "HTTP_COOKIE" in current.environ
        self.cookie = current.cookies.get(LANGUAGE_COOKIE) if has_cookies else None
        self.accept_language = current.headers.get("Accept-Language")
        self.code: str | None = None  # chosen when first needed, as Flask-Babel asks
        self.vary: tuple[str, ...] = ()  # what the choice read, for the response's Vary

    def chosen(self) -> str:
        if self.code is None:
            self.code, self.vary = self._choose()
        return self.code

    def _choose(self) -> tuple[str, tuple[str, ...]]:
        if self.asked:
            return self.asked, ()
        # A shared cache keys an answer by URL and Vary alone (the goal badge): no cookie there.
        if g.get("shared_cacheable"):
            return _best_language(self.accept_language), ("Accept-Language",)
        if self.cookie in LANGUAGES:
            return self.cookie, ("Cookie",)
        return _best_language(self.accept_language), ("Accept-Language", "Cookie")

    def hinted(self) -> bool:
        """Whether the reader showed a language at all: `?lang=`, the cookie or the header."""
        return bool(self.asked or self.cookie in LANGUAGES or (self.accept_language or "").strip())


# Kept in the WSGI environ, which is the request's own: g belongs to the app context, which a
# test (or a command) may keep across several requests.
_KEPT = "i18n.request_language"


def _this_request() -> _RequestLanguage:
    current = request._get_current_object()  # one look through the proxy
    kept = current.environ.get(_KEPT)
    if kept is None:
        english_only = current_app.config["I18N_ENGLISH_ONLY_BLUEPRINTS"]
        kept = current.environ[_KEPT] = _RequestLanguage(current, english_only)
    return kept


def asked_language() -> str | None:
    """The language named by `?lang=` on this request, if it is one we speak."""
    return _this_request().asked


def choose_language() -> Locale | None:
    """Flask-Babel's locale selector; None (the default, English) outside a request."""
    if not has_request_context():
        return None
    language = _this_request()
    return None if language.english_only else _LOCALES[language.chosen()]


@lru_cache(maxsize=512)
def _best_language(accept_language: str | None) -> str:
    """Accept-Language's choice among ours, parsed once per distinct header (browsers send a
    few), as request.accept_languages would parse it on every request."""
    parsed = parse_accept_header(accept_language, LanguageAccept)
    return parsed.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of what this request or command writes: "en" or "uk"."""
    return str(babel_locale() or DEFAULT_LANGUAGE)


def reader_language() -> str | None:
    """The language this request's reader showed (`?lang=`, the cookie or Accept-Language), to
    keep with the subscriber; None outside a request or when it gave no hint at all (a server
    calling the API), so a hint-less signup does not undo a reader's earlier choice."""
    if not has_request_context():
        return None
    language = _this_request()
    if language.english_only or not language.hinted():
        return None
    return language.chosen()  # the choice Flask-Babel's selector makes for this request


def _remember_and_vary(response: Response) -> Response:
    language = _this_request()
    asked = language.asked
    if asked and not language.english_only and language.cookie != asked:
        if not g.get("shared_cacheable"):
            response.set_cookie(
                LANGUAGE_COOKIE,
                asked,
                max_age=LANGUAGE_COOKIE_MAX_AGE,
                secure=current_app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
                samesite="Lax",
            )
    if not language.vary:
        return response
    headers = response.headers
    if "Vary" in headers:
        response.vary.update(language.vary)  # one parse of the header, one write back (not per add)
    else:  # what that writes when there is no Vary yet, without a HeaderSet made and written
        headers["Vary"] = ", ".join(language.vary)
    return response


def _same_page_url() -> str:
    """Where the switch sends the reader: this page, or the front page after a form's POST.

    Always a path on this site: a request for "//elsewhere.example" must not become a link there.
    """
    path = request.script_root + "/" + quote(request.path.lstrip("/"))
    if request.method != "GET":
        try:
            current_app.url_map.bind("").match(request.path, method="GET")
        except HTTPException:  # no such page, another method, or a redirect ("//" in the path)
            return request.script_root + "/"
        return path
    kept = [
        (key, value) for key, value in request.args.items(multi=True) if key != LANGUAGE_PARAMETER
    ]
    return path + ("?" + urlencode(kept) if kept else "")


def language_choices() -> list[LanguageChoice]:
    """The language switch of a reader page (none on English-only pages)."""
    if not has_request_context() or _this_request().english_only:
        return []
    here = _same_page_url()
    joiner = "&" if "?" in here else "?"
    current = current_language()
    return [
        LanguageChoice(code, name, f"{here}{joiner}{LANGUAGE_PARAMETER}={code}", code == current)
        for code, name in LANGUAGES.items()
    ]


def number(value: int | float | Decimal) -> str:
    """20,000 in English, 20 000 in Ukrainian (a no-break space, as Babel writes it)."""
    if isinstance(value, int) and 0 <= value < 1000:
        return str(value)  # written alike in every language we speak; spares Babel on mail
    return format_decimal(value)


def percent(value: float) -> str:
    """A percentage kept as 0–100 (the goal's `percent`), written the reader's way."""
    return format_percent(Decimal(str(value)) / 100, PERCENT)


def money(amount: int, currency: str) -> str:
    """An amount in the currency's minor units (cents, as Stripe keeps them): $10, 10 USD.

    Whole amounts drop the decimals, as the tiers are written; a currency the language has no
    sign for is written by its code after the number.
    """
    code = currency.upper()
    value = Decimal(amount).scaleb(-get_currency_precision(code))
    if value == value.to_integral_value():
        whole = babel_locale().currency_formats["standard"].pattern.replace("0.00", "0")
        written = format_currency(value, code, whole, currency_digits=False)
    else:
        written = format_currency(value, code)
    if written.startswith(code):
        written = written[len(code) :].strip() + "\N{NO-BREAK SPACE}" + code
    return written


def long_date(value: date | datetime) -> str:
    return format_date(value, LONG_DATE)


# Flask-Babel finds the catalogue again for every message (about 11 µs each; a confirmation
# mail on the signup path has fourteen): a template looks it up once per render instead.
RENDER_CATALOGUE = "_catalogue"


def _catalogue(context: Context):
    return context.get(RENDER_CATALOGUE) or get_translations()


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _catalogue(context).ugettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return _catalogue(context).ungettext(singular, plural, count)


@pass_context
def _pgettext(context: Context, message_context: str, message: str) -> str:
    return _catalogue(context).upgettext(message_context, message)


@pass_context
def _npgettext(
    context: Context, message_context: str, singular: str, plural: str, count: int
) -> str:
    return _catalogue(context).unpgettext(message_context, singular, plural, count)


def _render_catalogue() -> dict:
    # Kept per locale for the request or command: mail sent in several languages switches it.
    locale = babel_locale()
    cached = g.get("_i18n_catalogue")
    if cached is None or cached[0] != locale:
        cached = g._i18n_catalogue = (locale, get_translations())
    return {RENDER_CATALOGUE: cached[1]}


def _warn_if_not_compiled(app: Flask) -> None:
    """Without its .mo a language silently shows English: say so in the log at start."""
    translations = Path(app.root_path) / "translations"
    for source in translations.glob("*/LC_MESSAGES/messages.po"):
        compiled = source.with_suffix(".mo")
        if not compiled.exists() or compiled.stat().st_mtime < source.stat().st_mtime:
            log.warning("%s is not compiled: run `make translations`", source)


def init_app(app: Flask, english_only_blueprints: tuple[str, ...] = ()) -> None:
    """Wire Flask-Babel; pages of `english_only_blueprints` (staff) stay English."""
    app.config.setdefault("I18N_ENGLISH_ONLY_BLUEPRINTS", frozenset(english_only_blueprints))
    Babel(app, locale_selector=choose_language)
    app.jinja_env.install_gettext_callables(
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    app.context_processor(_render_catalogue)
    # {% trans %} blocks ignore line breaks and indentation, so messages read as sentences;
    # plain-text mail keeps its line breaks with {% trans notrimmed %}.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters.update(number=number, percent=percent, money=money, long_date=long_date)
    app.jinja_env.globals.update(
        current_language=current_language,
        asked_language=asked_language,
        language_choices=language_choices,
    )
    app.after_request(_remember_and_vary)
    _warn_if_not_compiled(app)
