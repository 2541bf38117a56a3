"""Removing database passwords from any text before it leaves the process."""

import re
from urllib.parse import quote

from ledgerflow.db.urls import MASK, describe_url

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
    passwords = set()
    for db in databases.values():
        # A URL's ?password= reaches libpq through OPTIONS instead of PASSWORD.
        passwords.update([db.get("PASSWORD"), db.get("OPTIONS", {}).get("password")])
    passwords = {password for password in passwords if password and isinstance(password, str)}
    # Also as they appear percent-encoded in a URL; the longest first, so none is cut short.
    encoded = {quote(password, safe=safe) for password in passwords for safe in ("", "/")}
    return sorted(passwords | encoded, key=len, reverse=True)


def configured_urls():
    """The database URLs given in the environment (empty before settings are ready)."""
    try:
        from django.conf import settings

        given = [settings.DATABASE_URL, settings.MIGRATION_DATABASE_URL]
    except Exception:  # settings not configured: there is nothing more to mask
        return []
    # The longest first, so that one holding another is replaced whole.
    return sorted({url for url in given if url.strip()}, key=len, reverse=True)


def mask_secrets(text):
    """``text`` with passwords in URLs, ``password=`` pairs and the configured database
    passwords replaced by ``***``."""
    if not text:
        return text
    # The configured URLs whole first: one too malformed for the regex below is still shown
    # only as describe_url shows it.
    for url in configured_urls():
        # As a whole token only: a short garbage value must not rewrite every word holding it.
        whole = re.compile(rf"(?<![^\s'\"(=]){re.escape(url)}(?![^\s'\",)])")
        text = whole.sub(describe_url(url).replace("\\", "\\\\"), text)  # a literal
    # The known passwords next: a regex could cut one short (at a quote or a space in it) and
    # leave the rest of it unmasked.
    for password in configured_passwords():
        text = text.replace(password, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _KEY_VALUE_PASSWORD.sub(lambda m: f"{m['head']}{_quoted_mask(m['value'])}", text)
    return text


def _quoted_mask(value):
    return f"{value[0]}{MASK}{value[0]}" if value[0] in "'\"" else MASK
