"""Parsers of outside input (JSON bodies, line protocol) into domain objects."""
