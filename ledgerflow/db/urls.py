"""Turning ``DATABASE_URL`` into Django's database settings, and describing it without secrets."""

from urllib.parse import unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


def mask_url(url):
    """``url`` with its password replaced by ``***``; safe to print or log."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return parts._replace(netloc=f"{userinfo}:***@{netloc[1]}").geturl()


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
):
    """Django's ``DATABASES["default"]`` for a PostgreSQL URL, with pooling or persistent
    connections (never both). Raises ``ImproperlyConfigured`` with the URL masked."""
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme not in POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL {mask_url(url)!r} is not a PostgreSQL URL; expected "
            "postgres://USER:PASSWORD@HOST:PORT/DATABASE."
        )
    try:
        config = environ.Env.db_url_config(url)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL {mask_url(url)!r} cannot be parsed ({exc}); expected "
            "postgres://USER:PASSWORD@HOST:PORT/DATABASE."
        ) from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(
            f"DATABASE_URL {mask_url(url)!r} names no database; add it after the host: "
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
