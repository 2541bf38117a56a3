"""Removing database passwords from any text before it leaves the process."""

import re
from urllib.parse import quote

MASK = "***"
# scheme://user:password@host  ->  scheme://user:***@host. The password runs to the last "@"
# before the host part (a raw "@" is accepted in a password, and so are "/" and "?"): an "@" ends
# it only when what follows, up to the path, a quote or whitespace, has no other "@".
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)\S*?@(?=[^@\s/?#'\"]*(?:[\s/?#'\"]|$))"
)
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
    passwords = {db["PASSWORD"] for db in databases.values() if db.get("PASSWORD")}
    # Also as they appear percent-encoded in a URL; the longest first, so none is cut short.
    encoded = {quote(password, safe=safe) for password in passwords for safe in ("", "/")}
    return sorted(passwords | encoded, key=len, reverse=True)


def mask_secrets(text):
    """``text`` with passwords in URLs, ``password=`` pairs and the configured database
    passwords replaced by ``***``."""
    if not text:
        return text
    # The known passwords first: a regex could cut one short (at a quote or a space in it) and
    # leave the rest of it unmasked.
    for password in configured_passwords():
        text = text.replace(password, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _KEY_VALUE_PASSWORD.sub(lambda m: f"{m['head']}{_quoted_mask(m['value'])}", text)
    return text


def _quoted_mask(value):
    return f"{value[0]}{MASK}{value[0]}" if value[0] in "'\"" else MASK
