"""Storage behind one interface: SQLite (embedded default) and PostgreSQL."""

from .base import Storage, open_storage

__all__ = ["Storage", "open_storage"]
