from flask import Blueprint

bp = Blueprint("membership", __name__)


@bp.get("/membership")
def page():
    return "placeholder"
