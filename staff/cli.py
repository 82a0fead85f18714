from flask.cli import AppGroup

staff_cli = AppGroup("staff", help="Manage staff accounts.")
