"""Who may read ``/metrics`` and the detailed readiness output.

Either a bearer token (``HEALTH_TOKEN``) or a network allow-list (``HEALTH_ALLOWED_NETWORKS``)
grants access; with neither set, development and test are open and production is closed.
"""

import hmac
import ipaddress

from django.conf import settings

from ledgerflow.networks import parse_networks


def is_allowed(request):
    token = settings.HEALTH_TOKEN
    networks = parse_networks(settings.HEALTH_ALLOWED_NETWORKS)
    if not token and not networks:
        return not settings.IS_PRODUCTION
    if token:
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(sent.encode(), token.encode()):
            return True
    if networks:
        try:
            client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        if client.version == 6:
            # A dual-stack socket shows an IPv4 client as ::ffff:a.b.c.d; match it as a.b.c.d.
            client = client.ipv4_mapped or client
        return any(client in network for network in networks)
    return False


DENIED_MESSAGE = (
    "Forbidden: send 'Authorization: Bearer <HEALTH_TOKEN>' or connect from an address in "
    "HEALTH_ALLOWED_NETWORKS.\n"
)
