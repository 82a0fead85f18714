"""Every Flask extension object, created unbound; app.create_app() binds them."""

from flask_cors import CORS
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


def client_address() -> str:
    """The reader's address after ProxyFix has applied PROXY_COUNT."""
    from flask import request

    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=client_address)
login_manager = LoginManager()
cors = CORS()
