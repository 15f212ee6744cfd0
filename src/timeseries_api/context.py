"""What every request handler needs, built once by ``create_app`` and kept on ``app.state``."""

from dataclasses import dataclass

from starlette.requests import Request

from .config import Settings
from .storage import Storage
from .timeparse import TimeWindow
from .users import UsersFile


@dataclass(frozen=True)
class AppContext:
    """The settings, storage and users of one running app."""

    settings: Settings
    storage: Storage
    users: UsersFile
    time_window: TimeWindow


def app_context(request: Request) -> AppContext:
    """The context of the app serving ``request``."""
    context: AppContext = request.app.state.context
    return context
