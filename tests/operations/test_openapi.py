"""/api/openapi.json: a valid OpenAPI 3.1 document of every /api/ endpoint, which the API's real
answers conform to."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from newsletters.schemas import SubscriptionRequest
from operations.openapi import COMPONENT
from tests.newsletters.helpers import load_lists, subscribe_api

DOCUMENT_URI = "urn:newsletters:openapi"


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def conforms(document: dict, path: str, method: str, response) -> None:
    """The answer's status, headers and body are those the document gives for the request."""
    documented = document["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method.upper()} {path} answered {status}, not documented"
    for header, spec in documented[status].get("headers", {}).items():
        if spec.get("required"):
            assert header in response.headers
    schema_at = _pointer("paths", path, method, "responses", status, "content", "application/json")
    registry = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#/{schema_at}/schema"}, registry=registry
    )
    assert response.mimetype == "application/json"
    validator.validate(response.get_json())


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_endpoint_and_method_is_documented(app, document):
    served = {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}

    assert served == documented


def test_the_request_body_is_described_by_the_model_that_parses_it(document):
    parsed_by = SubscriptionRequest.model_json_schema(ref_template=COMPONENT)

    assert document["components"]["schemas"]["SubscriptionRequest"] == parsed_by


def test_the_lists_and_the_goal_conform(app, client, document):
    load_lists(app)

    conforms(document, "/api/newsletters", "get", client.get("/api/newsletters"))
    conforms(document, "/api/goal", "get", client.get("/api/goal"))


def test_an_accepted_signup_conforms(app, client, document):
    load_lists(app)

    answer = subscribe_api(client, "reader@example.com")

    assert answer.status_code == 202
    conforms(document, "/api/subscriptions", "post", answer)


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        ("{not json", "application/json", 400),
        (json.dumps({"email": 12345}), "application/json", 400),
        (json.dumps({"email": "x@example.com", "newsletters": "daily"}), "application/json", 400),
        (json.dumps({"email": "x@example.com", "pad": "x" * 20_000}), "application/json", 413),
        ("email=x@example.com", "application/x-www-form-urlencoded", 415),
        (json.dumps({"email": "not an address"}), "application/json", 422),
        (json.dumps({}), "application/json", 422),
        (
            json.dumps({"email": "x@example.com", "newsletters": ["no-such"]}),
            "application/json",
            422,
        ),
    ],
)
def test_each_refusal_conforms(app, client, document, body, content_type, status):
    load_lists(app)

    answer = client.post("/api/subscriptions", data=body, content_type=content_type)

    assert answer.status_code == status
    conforms(document, "/api/subscriptions", "post", answer)


def test_the_rate_limit_answer_conforms_with_its_retry_after(make_app):
    app = load_lists(make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP="2/minute"))
    client = app.test_client()
    document = client.get("/api/openapi.json").get_json()

    answers = [subscribe_api(client, f"reader{n}@example.com") for n in range(3)]

    assert [answer.status_code for answer in answers] == [202, 202, 429]
    conforms(document, "/api/subscriptions", "post", answers[-1])
