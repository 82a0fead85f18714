from flask import Blueprint

bp = Blueprint("newsletters_api", __name__, url_prefix="/api")
