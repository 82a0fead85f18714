"""The baseline: the least a Flask JSON endpoint can cost on this machine."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def hello():
    return jsonify({"ok": True})
