"""One JSON line per request, as an operator's log collector reads them."""

from __future__ import annotations

import io
import logging
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from logs import JsonLineFormatter, json_handler, prescrubbed_record
from operations.requests import log, new_request_id, request_line
from tests.newsletters.helpers import confirm_path, load_lists, subscribe_api


def test_each_request_is_one_json_line_with_its_id_status_and_duration(client, captured_log):
    response = client.get("/healthz")

    (line,) = captured_log.requests()
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["endpoint"] == "operations.healthz"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["level"] == "INFO"
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_an_incoming_request_id_is_kept_and_answered(client, captured_log):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42:0"})

    assert response.headers["X-Request-ID"] == "lb-7f3a.42:0"
    assert captured_log.requests()[0]["request_id"] == "lb-7f3a.42:0"


def test_an_unsafe_or_overlong_request_id_is_replaced(client):
    for offered in ("a b<script>", "x" * 200, "é-unicode", ""):
        answered = client.get("/healthz", headers={"X-Request-ID": offered})
        assert answered.headers["X-Request-ID"] != offered
        assert len(answered.headers["X-Request-ID"]) == 32


def test_each_request_gets_an_id_of_its_own(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}

    assert len(ids) == 3


def test_token_paths_are_logged_by_their_route(app, client, captured_log):
    load_lists(app)
    assert subscribe_api(client, "reader@example.com").status_code == 202
    path = confirm_path(app, "reader@example.com")

    client.get(path)
    client.post(path)
    client.get(path + "x")  # tampered: still the same route

    logged = [(line["method"], line["path"]) for line in captured_log.requests()[1:]]
    assert logged == [
        ("GET", "/confirm/<token>"),
        ("POST", "/confirm/<token>"),
        ("GET", "/confirm/<token>"),
    ]
    assert path.rsplit("/", 1)[1] not in captured_log.text()


def test_a_numeric_id_in_a_route_is_logged_as_it_is(client, captured_log):
    client.get("/staff/lists/12345/export.csv")

    (line,) = captured_log.requests()
    assert (line["path"], line["endpoint"]) == (
        "/staff/lists/12345/export.csv",
        "staff.list_export",
    )


def test_a_path_no_route_matches_is_logged_by_its_first_segment(client, captured_log):
    client.get("/wp-admin/secret-looking/eyJhbGciOi.abcdefgh.0123456789abcdefghijklmnop")
    client.put("/confirm/eyJhbGciOi.abcdefgh.0123456789abcdefghijklmnop")

    logged = [(line["path"], line["status"]) for line in captured_log.requests()]
    assert logged == [("/wp-admin/…", 404), ("/confirm/…", 405)]


def test_a_server_error_is_logged_as_a_warning_line(app, client, captured_log):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("broken on purpose")

    assert client.get("/boom-for-test").status_code == 500

    (line,) = captured_log.requests()
    assert (line["status"], line["level"]) == (500, "WARNING")
    errors = [entry for entry in captured_log.lines() if entry["level"] == "ERROR"]
    assert "RuntimeError: broken on purpose" in errors[0]["exc_info"]
    assert errors[0]["request_id"] == line["request_id"]


def test_the_apps_own_messages_are_json_lines_too(app, captured_log):
    logging.getLogger("payments.webhook").error("STRIPE_WEBHOOK_SECRET is not set")

    (line,) = captured_log.lines()
    assert line["logger"] == "payments.webhook"
    assert line["level"] == "ERROR"
    assert line["message"] == "STRIPE_WEBHOOK_SECRET is not set"
    assert "request_id" not in line  # outside a request there is none


def test_what_a_client_puts_in_the_path_or_request_id_is_scrubbed_from_the_line(
    client, captured_log
):
    token = "eyJhbGciOi.abcdefgh.0123456789abcdefghijklmnop"
    client.get("/reader@example.com", headers={"X-Request-ID": token})

    (line,) = captured_log.requests()
    assert line["path"] == "[email]"  # the address's class of characters holds "/" too
    assert line["message"].startswith("GET [email] 404 ")
    assert line["request_id"] == "[token]"
    assert "reader@example.com" not in captured_log.text()
    assert token not in captured_log.text()


def test_an_id_of_our_own_is_a_random_uuids_hex_digits():
    ids = [new_request_id() for _ in range(500)]

    assert len(set(ids)) == len(ids)
    for made in ids:
        as_uuid = uuid.UUID(made)
        assert as_uuid.hex == made
        assert (as_uuid.version, as_uuid.variant) == (4, uuid.RFC_4122)


def _written(record: logging.LogRecord) -> str:
    stream = io.StringIO()
    json_handler(stream).handle(record)
    return stream.getvalue()


_CLIENT_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["/reader@example.com", "/confirm/<token>", "sk_live_abc", "x" * 250]),
)


@settings(max_examples=500, deadline=None)
@given(
    method=st.one_of(st.sampled_from(["GET", "POST", "PUT"]), st.text(max_size=12)),
    path=_CLIENT_TEXT,
    endpoint=st.one_of(st.sampled_from(["operations.healthz", "<unmatched>"]), _CLIENT_TEXT),
    status=st.integers(100, 599),
    seconds=st.floats(0, 1e5),
    request_id=st.one_of(st.just(uuid.uuid4().hex), _CLIENT_TEXT),
)
def test_a_request_line_is_the_line_the_general_formatter_writes_for_that_request(
    method, path, endpoint, status, seconds, request_id
):
    level = logging.WARNING if status >= 500 else logging.INFO
    made = prescrubbed_record(
        log, level, *request_line(method, path, endpoint, status, seconds, request_id)
    )
    # The request as any other code would log it, scrubbed by the handler's filter.
    duration_ms = round(seconds * 1000, 1)
    fields = {"method": method, "path": path, "endpoint": endpoint, "status": status}
    fields |= {"duration_ms": duration_ms, "request_id": request_id}
    message = f"{method} {path} {status} {duration_ms:.1f} ms"
    general = logging.getLogger("request").makeRecord(
        "request", level, "(unknown file)", 0, message, None, None, extra=fields
    )
    general.created = made.created

    assert _written(made) == _written(general)


def test_the_request_line_is_written_without_the_general_formatters_field_merging(
    client, captured_log, monkeypatch
):
    def refuse(*args, **kwargs):
        raise AssertionError("the general path formatted a request line")

    monkeypatch.setattr(JsonLineFormatter, "add_fields", refuse)

    response = client.get("/healthz")

    (line,) = captured_log.requests()
    assert line["request_id"] == response.headers["X-Request-ID"]
