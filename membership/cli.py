from flask.cli import AppGroup

tiers_cli = AppGroup("tiers", help="Manage membership tiers.")
members_cli = AppGroup("members", help="Membership maintenance.")
