"""Removing database passwords from any text before it leaves the process."""

import re

MASK = "***"
# scheme://user:password@host  ->  scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]+@")
# libpq key/value strings and Python reprs: password=secret, 'PASSWORD': 'secret'
_KEY_VALUE_PASSWORD = re.compile(
    r"""(?P<head>(?i:password)['"]?\s*[=:]\s*)(?P<value>'[^']*'|"[^"]*"|[^\s,;}&]+)"""
)


def configured_passwords():
    """The passwords of the configured databases (empty before settings are ready)."""
    try:
        from django.conf import settings

        databases = settings.DATABASES
    except Exception:  # settings not configured: there is nothing more to mask
        return []
    return [db["PASSWORD"] for db in databases.values() if db.get("PASSWORD")]


def mask_secrets(text):
    """``text`` with passwords in URLs, ``password=`` pairs and the configured database
    passwords replaced by ``***``."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _KEY_VALUE_PASSWORD.sub(lambda m: f"{m['head']}{_quoted_mask(m['value'])}", text)
    for password in configured_passwords():
        text = text.replace(password, MASK)
    return text


def _quoted_mask(value):
    return f"{value[0]}{MASK}{value[0]}" if value[0] in "'\"" else MASK
