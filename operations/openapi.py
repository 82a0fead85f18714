"""The OpenAPI 3.1 document of the JSON API, built from the models that parse and answer it.

Request bodies are parsed by pydantic models (newsletters/schemas.py), so their JSON Schema
(2020-12, OpenAPI 3.1's own dialect) comes from pydantic and cannot drift from what is
accepted. No library builds this document: spectree and flask-openapi3 validate requests
themselves, with their own error bodies and order of checks, which would change the contract's
answers (400 before 422, 415, the error shape); this module only assembles what pydantic says.
Error codes are the ones errors.py and newsletters/schemas.py answer with.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from errors import ERROR_CODES
from newsletters.schemas import ERROR_CODES as SIGNUP_ERROR_CODES
from newsletters.schemas import NewsletterList, SignupAccepted, SubscriptionRequest

COMPONENT = "#/components/schemas/{model}"
UNAVAILABLE_CODE = "unavailable"  # the contract's answer while the database is unreachable


class GoalAnswer(BaseModel):
    """GET /api/goal: members counted now against the goal."""

    members: int = Field(ge=0, description="Distinct Stripe customers who are members now.")
    goal: int = Field(description="The members goal (MEMBERSHIP_GOAL, or as staff set it).")
    percent: float = Field(ge=0, le=100, description="members / goal, 0–100, two decimals.")
    updated_at: datetime = Field(description="When the count was read (UTC, ISO 8601).")
    definition: str = Field(
        default="", description="Who counts as a member, as the membership page says it."
    )


def _code(status: int) -> str:
    return ERROR_CODES[status][0]


def _retry_after() -> dict:
    return {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    }


def _error(description: str, codes: list[str], *, retry_after: bool = False) -> dict:
    error = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "enum": codes},
            "message": {"type": "string", "description": "For people; follows Accept-Language."},
            "field": {"type": "string", "description": "The body's field at fault, if one is."},
        },
    }
    response = {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": ["error"], "properties": {"error": error}}
            }
        },
    }
    if retry_after:
        response["headers"] = _retry_after()
    return response


def _answer(description: str, model: type[BaseModel]) -> dict:
    schema = {"$ref": COMPONENT.format(model=model.__name__)}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _unavailable() -> dict:
    return _error(
        "The database cannot be reached; try again after Retry-After seconds.",
        [UNAVAILABLE_CODE],
        retry_after=True,
    )


_ACCEPT_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "Language of error messages and of the reader's mail (en or uk).",
    "schema": {"type": "string"},
}


def _paths() -> dict:
    return {
        "/api/newsletters": {
            "get": {
                "operationId": "listNewsletters",
                "summary": "The newsletters a reader can subscribe to.",
                "responses": {
                    "200": _answer("The open lists.", NewsletterList),
                    "503": _unavailable(),
                },
            }
        },
        "/api/subscriptions": {
            "post": {
                "operationId": "subscribe",
                "summary": "Sign an address up (double opt-in: a confirmation mail is sent).",
                "description": "The answer is the same whether the address is new, pending or "
                "already confirmed. Rate limits apply per client and per address.",
                "parameters": [_ACCEPT_LANGUAGE],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": COMPONENT.format(model="SubscriptionRequest")}
                        }
                    },
                },
                "responses": {
                    "202": _answer("Accepted: a confirmation mail is on its way.", SignupAccepted),
                    "400": _error("Malformed JSON or a field of the wrong type.", [_code(400)]),
                    "413": _error("The body is larger than 16 KiB.", [_code(413)]),
                    "415": _error("The body is not application/json.", [_code(415)]),
                    "422": _error(
                        "The address is not one mail can reach, or a newsletter is unknown.",
                        sorted(SIGNUP_ERROR_CODES.values()),
                    ),
                    "429": _error("Past the rate limit.", [_code(429)], retry_after=True),
                    "503": _unavailable(),
                },
            }
        },
        "/api/goal": {
            "get": {
                "operationId": "membershipGoal",
                "summary": "Members counted now, against the goal.",
                "responses": {
                    "200": _answer("The count and the goal.", GoalAnswer),
                    "503": _unavailable(),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapiDocument",
                "summary": "This document.",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def build_document(base_url: str) -> dict:
    _, schemas = models_json_schema(
        [
            (SubscriptionRequest, "validation"),
            (SignupAccepted, "serialization"),
            (NewsletterList, "serialization"),
            (GoalAnswer, "serialization"),
        ],
        ref_template=COMPONENT,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Newsletters and membership",
            "version": "1",
            "description": "Signups for an outlet's newsletters and its membership goal. "
            'Errors are {"error": {"code", "message", "field"?}}; the code never changes '
            "with the language.",
        },
        "servers": [{"url": base_url}],
        "paths": _paths(),
        "components": {"schemas": schemas["$defs"]},
    }


def openapi_document() -> dict:
    """The document for this app (built once; it depends only on BASE_URL)."""
    app = current_app._get_current_object()
    document = app.extensions.get("operations.openapi")
    if document is None:
        document = build_document(app.config["BASE_URL"])
        app.extensions["operations.openapi"] = document
    return document
