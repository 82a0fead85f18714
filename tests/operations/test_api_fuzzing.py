"""schemathesis against the JSON API, in-process: no 5xx, and no answer outside the document.

The document is the one /api/openapi.json serves (built from the same models). A bounded
number of cases per operation keeps the suite fast; CI runs it with the rest of the suite.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from operations.openapi import build_document
from tests.newsletters.helpers import load_lists

CASES_PER_OPERATION = 50
BASE_URL = "http://newsroom.test"  # tests/conftest.py's BASE_URL

schema = schemathesis.openapi.from_dict(build_document(BASE_URL))
# Every other check runs. This one expects any body the schema allows to be accepted, but no
# schema can say which addresses email-validator accepts or which lists exist today: a
# well-formed body naming an unknown list is rightly 422, an answer the document lists.
NOT_EXPRESSIBLE = [checks.positive_data_acceptance]


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_answers_every_generated_request_as_its_document_says(case, app):
    if not app.extensions.get("tests.lists_loaded"):
        load_lists(app)
        app.extensions["tests.lists_loaded"] = True
    case.call_and_validate(app=app, excluded_checks=NOT_EXPRESSIBLE)
