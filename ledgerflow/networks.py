"""IP network allow-lists read from the environment (``HEALTH_ALLOWED_NETWORKS``).

Settings parse the list at start-up, so a bad entry stops the process naming it; the health views
parse it again per request to match a client against it.
"""

import ipaddress

from django.core.exceptions import ImproperlyConfigured


def parse_networks(values):
    """``HEALTH_ALLOWED_NETWORKS`` entries as ``ip_network`` objects; a bad entry is a
    configuration error naming it."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"HEALTH_ALLOWED_NETWORKS has {value!r}, which is not an IP address or network; "
                "use comma-separated entries such as 10.0.0.0/8,127.0.0.1."
            ) from None
    return networks
