from flask import Blueprint

bp = Blueprint("newsletters", __name__)


@bp.get("/")
def article():
    return "placeholder"
