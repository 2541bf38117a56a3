"""Log formatters: JSON lines for production, plain text for development; both mask passwords.

``LOG_FORMAT`` (``json`` or ``text``) picks one in settings. Fields passed with ``extra=`` (for
example app, name, duration, lock wait and outcome of each applied migration, sent through the
``ledgerflow.migrations`` logger) become fields of the JSON object.
"""

import json
import logging
import re
from datetime import UTC, datetime

from ledgerflow.observability.masking import MASK, mask_secrets

# Values under such keys (a settings dump's PASSWORD, an API token) are never rendered.
_SECRET_KEY = re.compile(r"PASS|SECRET|TOKEN|API_?KEY|SIGNATURE", re.IGNORECASE)

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


def _json_value(value):
    if isinstance(value, str):
        return mask_secrets(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {
            str(key): MASK if _SECRET_KEY.search(str(key)) else _json_value(item)
            for key, item in value.items()
        }
    return mask_secrets(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, every extra field, exception."""

    def format(self, record):
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_secrets(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and key not in event:
                event[key] = _json_value(value)
        if record.exc_info:
            event["exception"] = mask_secrets(self.formatException(record.exc_info))
        if record.stack_info:
            event["stack"] = mask_secrets(self.formatStack(record.stack_info))
        return json.dumps(event, ensure_ascii=False)


class SkipPrinted(logging.Filter):
    """For text logs on a terminal: drop an event whose line the command has already printed
    (each applied migration, flagged ``_printed`` by the executor), so it is shown once. JSON
    logs keep every event: they are read by machines, not beside the command's output."""

    def filter(self, record):
        return not getattr(record, "_printed", False)


class TextFormatter(logging.Formatter):
    """Django's plain lines for development, with passwords masked all the same."""

    def __init__(self, fmt="%(asctime)s %(levelname)s %(name)s: %(message)s", **kwargs):
        super().__init__(fmt, **kwargs)

    def format(self, record):
        return mask_secrets(super().format(record))
