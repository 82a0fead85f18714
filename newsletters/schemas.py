"""The JSON API's shapes: what a request must hold, what an answer holds, and each refusal.

Requests are pydantic models validated strictly (no coercion: 12345 is not an address), and
parse_json() turns a body into one or raises ApiError, the contract's error shape. The same
models can describe the API as JSON Schema 2020-12, the dialect of OpenAPI 3.1.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from flask import Request, Response
from flask_babel import gettext, lazy_gettext
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from addresses import InvalidEmail
from errors import api_error
from newsletters.consent import API_WORDING
from newsletters.forms import EMAIL_ERROR
from newsletters.models import SOURCE_API
from newsletters.services import SignupRequest, UnknownNewsletter

# The error code of each field a signup can be refused for, for the API and the in-place form.
ERROR_CODES = {"email": "invalid_email", "newsletters": "unknown_newsletter"}


class ApiError(Exception):
    """A refusal in the contract's shape: {"error": {"code", "message", "field"?}}."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    @classmethod
    def bad_request(cls, message: str, field: str | None = None) -> ApiError:
        return cls(400, "bad_request", message, field)

    @classmethod
    def refused_signup(cls, refusal: InvalidEmail | UnknownNewsletter) -> ApiError:
        if isinstance(refusal, InvalidEmail):
            return cls(422, ERROR_CODES["email"], str(EMAIL_ERROR), "email")
        message = gettext("Unknown newsletter: %(slugs)s", slugs=str(refusal))
        return cls(422, ERROR_CODES["newsletters"], message, "newsletters")

    def response(self) -> Response:
        return api_error(self.status, self.code, self.message, self.field)


class ApiRequest(BaseModel):
    """A JSON object body; fields it does not name are ignored."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    # Per field: what to say when it is not that type (lazy: in the request's language).
    wrong_type: ClassVar[dict[str, str]] = {}

    @classmethod
    def refusal(cls, error: ErrorDetails) -> ApiError:
        """The answer to the first thing wrong with a body (fields in the order declared)."""
        field = str(error["loc"][0]) if error["loc"] else None
        return ApiError.bad_request(str(cls.wrong_type.get(field or "", error["msg"])), field)


class SubscriptionRequest(ApiRequest):
    """POST /api/subscriptions: an address, and the lists (left out or empty: the default lists;
    null is not a list of slugs, so it is refused as the contract says)."""

    email: str = Field(json_schema_extra={"format": "email"})  # as the OpenAPI document says
    newsletters: list[str] = Field(default_factory=list)

    wrong_type: ClassVar[dict[str, str]] = {
        "email": lazy_gettext("email must be a string."),
        "newsletters": lazy_gettext("newsletters must be a list of newsletter slugs."),
    }

    @classmethod
    def refusal(cls, error: ErrorDetails) -> ApiError:
        if error["loc"] == ("email",) and (error["type"] == "missing" or error["input"] is None):
            return ApiError.refused_signup(InvalidEmail("no address"))
        return super().refusal(error)

    def signup(
        self, source_url: str | None, ip: str, user_agent: str, language: str | None = None
    ) -> SignupRequest:
        return SignupRequest(
            email=self.email,
            slugs=list(self.newsletters),
            source=SOURCE_API,
            source_url=source_url,
            ip=ip,
            user_agent=user_agent,
            wording=API_WORDING,
            language=language,
        )


class NewsletterItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the open lists' snapshot

    slug: str
    name: str
    description: str


class NewsletterList(BaseModel):
    """GET /api/newsletters."""

    newsletters: list[NewsletterItem]


class SignupAccepted(BaseModel):
    """202 from POST /api/subscriptions: the same whether the address is new or known."""

    status: str = "pending"


Body = TypeVar("Body", bound=ApiRequest)


def parse_json(model: type[Body], request: Request) -> Body:
    """The request's JSON body as `model`, or ApiError (415, 400, 422 as the model says).

    A body over the size limit raises werkzeug's 413 while it is read.
    """
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", gettext("Send the body as application/json."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError.bad_request(gettext("The body must be a JSON object."))
    try:
        return model.model_validate(body)
    except ValidationError as invalid:
        raise model.refusal(invalid.errors()[0]) from None
