"""Turning ``DATABASE_URL`` into Django's database settings, and describing it without secrets.

Every database URL the project is given (``DATABASE_URL``, ``MIGRATION_DATABASE_URL``,
``restore --database-url``, ``schema_drift --against``) is read by ``database_config``, and any
message about one, or any text holding a configured one (``ledgerflow.observability.masking``),
shows it only through ``describe_url``: a URL that cannot be split for sure into its parts is
never echoed, not even masked, since where its password ends is exactly what is unknown.
"""

import dataclasses
import re
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")
MASK = "***"
EXPECTED = (
    "expected postgres://USER:PASSWORD@HOST:PORT/DATABASE, with any '/', '?', '#' or '%' in the "
    "password percent-encoded as %2F, %3F, %23 or %25"
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# One entry of host[:port][,host[:port]...]: a name or address, a percent-encoded socket
# directory, or an IPv6 address in brackets.
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\s\[\]:]*)(?::([^,]*))?")
# OPTIONS that Django's PostgreSQL backend reads itself instead of passing them to libpq.
_DJANGO_ONLY_OPTIONS = ("pool", "isolation_level", "server_side_binding", "assume_role")
_SECRET_KEY = re.compile(r"password", re.IGNORECASE)  # password=, sslpassword=, ...


@dataclasses.dataclass
class _Split:
    """What can be told for sure about a URL. ``scheme``, ``host`` and ``problem`` (why it is
    not well formed) quote nothing that can be part of a password; ``masked`` is the whole URL
    with its passwords replaced, and is set only when there is no problem."""

    scheme: str = ""
    host: str = ""
    problem: str = ""
    masked: str = ""


def _split(url):
    scheme, colon, rest = url.partition(":")
    if not (colon and _SCHEME.fullmatch(scheme)):
        return _Split(problem="it does not start with a scheme such as postgres://")
    found = _Split(scheme=scheme)
    if not rest.startswith("//"):
        found.problem = f'"//" must follow "{scheme}:"'
    # Without "//" the host is still looked for, to describe the URL; never the rest.
    authority = rest.lstrip("/") if found.problem else rest[2:]
    # The password runs to the last "@" (a raw "@" in it is accepted). A "/", "?" or "#" before
    # that "@" leaves it unclear whether they end the password or belong to it.
    userinfo, at, after = authority.rpartition("@")
    if any(mark in userinfo for mark in "/?#"):
        found.problem = found.problem or (
            "a '/', '?' or '#' comes before the last '@', so where the password ends is unclear"
        )
        return found
    hosts, sep, tail = _partition_any(after, "/?#")
    entries = [_HOST_PORT.fullmatch(entry) for entry in hosts.split(",")]
    if all(entries):
        found.host = ",".join(entry[1] for entry in entries)
    if found.problem:
        return found
    if not all(entries):
        found.problem = "the host part is not HOST or HOST:PORT"
        return found
    if any(entry[2] is not None and not _is_port(entry[2]) for entry in entries):
        found.problem = "the port is not a number from 1 to 65535"
        return found
    if "#" in sep + tail:
        found.problem = "a '#' comes after the host; percent-encode it as %23"
        return found
    user, has_password, _ = userinfo.partition(":")
    credentials = f"{user}:{MASK}" if has_password else user
    found.masked = f"{scheme}://{credentials}{at}{hosts}{sep}{_masked_query(tail)}"
    return found


def _is_port(text):
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def _partition_any(text, marks):
    """``text.partition`` at the first of any of ``marks``."""
    match = re.search(f"[{re.escape(marks)}]", text)
    if match is None:
        return text, "", ""
    return text[: match.start()], match[0], text[match.end() :]


def _masked_query(tail):
    """The path and query after the host, with the value of any ``...password=`` masked."""
    path, question, query = tail.partition("?")
    pairs = []
    for pair in query.split("&") if question else []:
        key, equals, _ = pair.partition("=")
        pairs.append(f"{key}={MASK}" if equals and _SECRET_KEY.search(unquote(key)) else pair)
    return path + question + "&".join(pairs)


def describe_url(url):
    """The only way a database URL is shown: the URL with its passwords masked when it is well
    formed, otherwise a description naming its scheme and host when they are certain."""
    found = _split(url.strip())
    if found.masked:
        return found.masked
    known = [f'scheme "{found.scheme}"'] if found.scheme else []
    if found.host:
        known.append(f'host "{found.host}"')
    hidden = "not shown, as it may hold the password"
    return f"({hidden}; {', '.join(known)})" if known else f"({hidden})"


def describe_target(settings_dict):
    """``database "x" on host:port as user "u"``: names the target, never the password."""
    host = settings_dict.get("HOST") or "the local socket"
    port = settings_dict.get("PORT")
    where = f"{host}:{port}" if port and not str(host).startswith("/") else host
    user = settings_dict.get("USER") or "(default user)"
    return f'database "{settings_dict.get("NAME")}" on {where} as user "{user}"'


def psycopg_params(settings_dict, dbname=None):
    """psycopg connection arguments for a Django database's settings, with the connection
    options from its URL's query (``sslmode`` ...)."""
    options = settings_dict.get("OPTIONS", {})
    params = {key: value for key, value in options.items() if key not in _DJANGO_ONLY_OPTIONS}
    params.update(
        dbname=dbname or settings_dict["NAME"],
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
    )
    return {key: value for key, value in params.items() if value is not None}


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
    connections (never both). Raises ``ImproperlyConfigured`` naming ``variable`` and showing
    the URL only through ``describe_url``."""
    url = url.strip()
    found = _split(url)
    if found.problem:
        raise ImproperlyConfigured(
            f"{variable} {describe_url(url)} is not a well-formed URL: {found.problem}; {EXPECTED}."
        )
    if found.scheme.lower() not in POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"{variable} {describe_url(url)} is not a PostgreSQL URL; {EXPECTED}."
        )
    try:
        config = environ.Env.db_url_config(url)
    except (ValueError, KeyError):
        # Not the parser's message: it quotes the URL or a piece of the password (as a "port").
        raise ImproperlyConfigured(
            f"{variable} {describe_url(url)} cannot be parsed; {EXPECTED}."
        ) from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(
            f"{variable} {describe_url(url)} names no database; add it after the host: "
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
