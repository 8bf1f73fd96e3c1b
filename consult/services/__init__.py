"""Glue between the database and the domain: functions flush, the caller commits."""
