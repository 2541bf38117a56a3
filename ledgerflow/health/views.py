"""``/health/live``, ``/health/ready`` and ``/metrics``."""

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET
from health_check.views import HealthCheckView
from prometheus_client import CONTENT_TYPE_LATEST

from ledgerflow.health import access, metrics
from ledgerflow.health.checks import READINESS_CHECKS, start_request
from ledgerflow.observability.masking import mask_secrets

logger = logging.getLogger("ledgerflow.health")


@require_GET
def live(request):
    """The process is up and serving requests. Touches no database."""
    response = JsonResponse({"status": "ok"})
    add_never_cache_headers(response)
    return response


@contextlib.contextmanager
def _database_worker():
    """One worker thread for a request's checks: they share its connection, which is closed
    when they are done (queued behind them, so a hung check never blocks the response)."""
    executor = ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="ledgerflow-health", initializer=start_request
    )
    try:
        yield executor
    finally:
        executor.submit(connections.close_all)
        executor.shutdown(wait=False)


class ReadinessView(HealthCheckView):
    """200 when every readiness check passes, else 503; a JSON body names each check's outcome.

    Everyone sees each check's status and one-sentence reason; readers allowed by ``access``
    also see details (migration names, drift lines, the database target) and timings.
    """

    checks = READINESS_CHECKS
    http_method_names = ["get", "head"]

    def get_executor(self):
        return _database_worker()

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        detailed = access.is_allowed(request)
        body = {"status": "ok", "checks": {}}
        for result in results:
            check = result.check
            entry = {"ok": result.error is None}
            if result.error is None:
                entry["reason"] = check.reason
            else:
                body["status"] = "unavailable"
                reason = mask_secrets(getattr(result.error, "message", str(result.error)))
                entry["reason"] = reason
                logger.warning(
                    "readiness check %s failed: %s",
                    check.name,
                    reason,
                    extra={"check": check.name, "reason": reason},
                )
            if detailed:
                entry["details"] = getattr(result.error, "details", None) or check.details
                entry["seconds"] = round(result.time_taken, 6)
                entry["cached"] = check.cached
            body["checks"][check.name] = entry
        response = JsonResponse(body, status=200 if body["status"] == "ok" else 503)
        # Each failed check was logged above as a warning; without this Django adds an ERROR
        # line per 503, which would page on every probe during a deploy.
        response._has_been_logged = True
        return response


@require_GET
def metrics_view(request):
    """The Prometheus exposition, for allowed readers only."""
    if not access.is_allowed(request):
        return HttpResponse(access.DENIED_MESSAGE, status=403, content_type="text/plain")
    response = HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
    add_never_cache_headers(response)
    return response
