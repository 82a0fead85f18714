"""The floor for a signup: email-validator, a subscriber row and an outbox row in one
transaction with psycopg 3 and no framework beyond Flask: the "raw signup write" row of
results.md, which the service's signups are measured against."""

import os
import threading
from email.utils import make_msgid

import psycopg
from email_validator import EmailNotValidError, validate_email
from flask import Flask, jsonify, request

app = Flask(__name__)
DSN = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
_local = threading.local()


def connection() -> psycopg.Connection:
    if getattr(_local, "connection", None) is None:
        _local.connection = psycopg.connect(DSN)
    return _local.connection


@app.get("/")
def alive():
    return jsonify({"ok": True})


@app.post("/api/subscriptions")
def subscribe():
    body = request.get_json(silent=True) or {}
    try:
        address = validate_email(body.get("email", ""), check_deliverability=False).normalized
    except EmailNotValidError:
        return jsonify({"error": {"code": "invalid_email"}}), 422
    with connection().transaction(), connection().cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscribers (email, email_key, created_at, confirmations_sent)"
            " VALUES (%s, %s, now(), 1) ON CONFLICT (email_key)"
            " DO UPDATE SET email_key = excluded.email_key RETURNING id",
            (address, address.lower()),
        )
        cursor.execute(
            "INSERT INTO outbox (kind, to_addr, subject, text_body, html_body, headers,"
            " message_id, status, attempts, next_attempt_at, created_at)"
            " VALUES ('confirm', %s, 'Confirm', 'text', '<p>html</p>', '{}', %s, 'queued', 0,"
            " now(), now())",
            (address, make_msgid()),
        )
    return jsonify({"status": "pending"}), 202
