from flask.cli import AppGroup

newsletters_cli = AppGroup("newsletters", help="Manage newsletter lists.")
