"""Adapters: the database, the event log, migrations and other ports to the outside."""
