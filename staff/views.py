from flask import Blueprint

from extensions import db, login_manager
from staff.models import StaffUser

bp = Blueprint("staff", __name__, url_prefix="/staff")


@login_manager.user_loader
def load_staff_user(user_id: str):
    return db.session.get(StaffUser, int(user_id)) if user_id.isdigit() else None


@bp.get("/")
def dashboard():
    return "placeholder"
