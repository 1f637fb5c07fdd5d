"""The backend's access log without the load balancer's health checks (one a second per server
under `make run-scaled`); a failed health check is still logged."""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_log import AccessLogger

HEALTH_PATH = "/health"


class AccessLogWithoutHealthChecks(AccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request.path == HEALTH_PATH and response.status == 200:
            return
        super().log(request, response, time)
