"""Every route of the app with its methods, and Hypothesis strategies for requests to them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from tests.fuzz.strategies import (
    awkward_text,
    form_fields,
    json_bodies,
    path_part,
    query_strings,
)

NOT_FUZZED = ("/static/", "/stripe/webhook", "/staff/logout")


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    arguments: tuple[tuple[str, bool], ...]  # (name, is an integer id)

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"

    def path(self, values: dict[str, str]) -> str:
        path = self.rule
        for name, integer in self.arguments:
            placeholder = f"<int:{name}>" if integer else f"<{name}>"
            path = path.replace(placeholder, values[name])
        return path


def app_routes(*, staff: bool) -> list[Route]:
    """The routes of an app built only to read its URL map (no database is touched)."""
    from app import create_app

    return routes(create_app({"SECRET_KEY": "routes only", "TESTING": True}), staff=staff)


def routes(app: Flask, *, staff: bool) -> list[Route]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(NOT_FUZZED) or rule.rule.startswith("/staff") != staff:
            continue
        arguments = tuple(
            (name, isinstance(converter, IntegerConverter))
            for name, converter in sorted(rule._converters.items())
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append(Route(rule.rule, method, arguments))
    return sorted(found, key=lambda route: (route.rule, route.method))


def path_value(integer: bool, tokens: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    if integer:
        return st.integers(min_value=-5, max_value=2**70).map(str)
    return st.one_of(awkward_text.map(path_part), tokens)


@dataclass(frozen=True)
class FuzzRequest:
    route: Route
    path: str
    query: dict
    form: dict
    json_body: object | None

    def send(self, client):
        if self.json_body is not None:
            return client.open(
                self.path, method=self.route.method, query_string=self.query, json=self.json_body
            )
        return client.open(
            self.path, method=self.route.method, query_string=self.query, data=self.form
        )


def requests_to(route: Route, tokens: st.SearchStrategy[str]) -> st.SearchStrategy[FuzzRequest]:
    values = st.fixed_dictionaries(
        {name: path_value(integer, tokens) for name, integer in route.arguments}
    )
    posting = route.method != "GET"
    return st.builds(
        FuzzRequest,
        route=st.just(route),
        path=values.map(route.path),
        query=query_strings,
        form=form_fields(route.rule) if posting else st.just({}),
        json_body=st.none() | json_bodies(route.rule) if posting else st.none(),
    )
