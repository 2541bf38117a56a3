"""Turning ``DATABASE_URL`` into Django's database settings, and describing it without secrets."""

import re
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _url_password(url):
    """``(head, password, tail)`` of ``scheme://user:password@host…``, or ``None`` without a
    password. Split by hand, not by ``urlsplit``: an unencoded ``/``, ``?`` or ``#`` in the
    password makes ``urlsplit`` see no password (and a host or port made of it), and a raw
    ``@`` is part of the password up to the last ``@``."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not (sep and at and colon):
        return None
    return f"{scheme}://{user}:", password, f"@{host}"


def mask_url(url):
    """``url`` with its password replaced by ``***``; safe to print or log."""
    parts = _url_password(url)
    return url if parts is None else f"{parts[0]}***{parts[2]}"


def _masked_reason(exc, url):
    """The parser's message with anything of the URL's password in it masked: it can quote a
    piece of the password as a "port" (``'hunter2'`` of ``hunter2/x``) or the whole URL."""
    text = str(exc).replace(url, mask_url(url))
    parts = _url_password(url)
    if parts is None or not parts[1]:
        return text
    forms = (parts[1], unquote(parts[1]))
    for form in forms:
        text = text.replace(form, "***")

    def masked(quoted):
        inside = quoted[0][1:-1]
        return "'***'" if inside and any(inside in form for form in forms) else quoted[0]

    return _QUOTED.sub(masked, text)


def describe_target(settings_dict):
    """``database "x" on host:port as user "u"``: names the target, never the password."""
    host = settings_dict.get("HOST") or "the local socket"
    port = settings_dict.get("PORT")
    where = f"{host}:{port}" if port and not str(host).startswith("/") else host
    user = settings_dict.get("USER") or "(default user)"
    return f'database "{settings_dict.get("NAME")}" on {where} as user "{user}"'


def database_config(
    url,
    *,
    conn_max_age=0,
    pool=False,
    pool_min_size=2,
    pool_max_size=10,
    pool_timeout=10.0,
    connect_timeout=10,
    variable="DATABASE_URL",
):
    """Django's ``DATABASES["default"]`` for a PostgreSQL URL, with pooling or persistent
    connections (never both). Raises ``ImproperlyConfigured`` naming ``variable``, with the URL
    masked."""
    # Not urlsplit: it raises ValueError on a stray "[" ("Invalid IPv6 URL").
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"{variable} {mask_url(url)!r} is not a PostgreSQL URL; expected "
            "postgres://USER:PASSWORD@HOST:PORT/DATABASE."
        )
    try:
        config = environ.Env.db_url_config(url)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"{variable} {mask_url(url)!r} cannot be parsed ({_masked_reason(exc, url)}); "
            "expected postgres://USER:PASSWORD@HOST:PORT/DATABASE, with any '/', '?' or '#' "
            "in the password percent-encoded as %2F, %3F or %23."
        ) from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(
            f"{variable} {mask_url(url)!r} names no database; add it after the host: "
            "postgres://USER:PASSWORD@HOST:PORT/DATABASE."
        )
    if pool and conn_max_age:
        raise ImproperlyConfigured(
            "DATABASE_POOL and DATABASE_CONN_MAX_AGE are both set: choose one. A psycopg pool "
            "already keeps connections open; persistent connections are the alternative "
            "without a pool (unset DATABASE_POOL or set DATABASE_CONN_MAX_AGE=0)."
        )
    if pool and not 0 < pool_min_size <= pool_max_size:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MIN_SIZE ({pool_min_size}) must be at least 1 and at most "
            f"DATABASE_POOL_MAX_SIZE ({pool_max_size})."
        )
    if conn_max_age < 0:
        raise ImproperlyConfigured("DATABASE_CONN_MAX_AGE must be 0 or a number of seconds.")
    # A Unix socket directory travels percent-encoded in the host part (%2Frun%2Fpostgresql).
    config["HOST"] = unquote(config.get("HOST") or "")
    options = dict(config.get("OPTIONS", {}))
    options.setdefault("connect_timeout", connect_timeout)
    options.setdefault("application_name", "ledgerflow-schema")
    if pool:
        options["pool"] = {
            "min_size": pool_min_size,
            "max_size": pool_max_size,
            "timeout": pool_timeout,
        }
    config.update(
        ENGINE="django.db.backends.postgresql",
        CONN_MAX_AGE=conn_max_age,
        CONN_HEALTH_CHECKS=bool(conn_max_age),
        OPTIONS=options,
    )
    return config
