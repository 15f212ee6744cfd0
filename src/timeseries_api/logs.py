"""Keep secrets out of logs: tokens can travel in query strings (InfluxDB's ``p=``, ThingSpeak's
``api_key=``), and the access log would otherwise print them."""

import logging
import re

_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:p|u|token|api_key|key|password|write_api_key|read_api_key)=)[^&\s]*"
)


def redact(text: str) -> str:
    """Replace the values of secret-carrying query parameters with ``***``."""
    return _SECRET_PARAMS.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    """A filter for uvicorn's access log, whose third argument is the path with its query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_redaction() -> None:
    """Attach the filter to the access log (idempotent)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecrets) for f in access.filters):
        access.addFilter(RedactSecrets())
