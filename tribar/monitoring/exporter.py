"""Start the Prometheus HTTP endpoint for a registry; never raises into the bot."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

logger = logging.getLogger(__name__)

DEFAULT_LISTEN_IP = "127.0.0.1"
DEFAULT_LISTEN_PORT = 9108


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = False
    listen_ip_address: str = DEFAULT_LISTEN_IP
    listen_port: int = DEFAULT_LISTEN_PORT


def settings_from_config(config: Mapping[str, Any]) -> MetricsSettings:
    """Read ``tribar.metrics`` from a config; bad values raise ValueError naming the key."""
    raw = (config.get("tribar") or {}).get("metrics") or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"tribar.metrics: expected an object, got {type(raw).__name__}")
    port = raw.get("listen_port", DEFAULT_LISTEN_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"tribar.metrics.listen_port: expected an integer 0..65535, got {port!r}")
    ip = raw.get("listen_ip_address", DEFAULT_LISTEN_IP)
    if not isinstance(ip, str) or not ip:
        raise ValueError(f"tribar.metrics.listen_ip_address: expected a host string, got {ip!r}")
    return MetricsSettings(bool(raw.get("enabled", False)), ip, port)


def start_exporter(registry: CollectorRegistry, host: str, port: int) -> bool:
    """Serve ``registry`` on host:port. Returns False (one WARNING) if the port cannot be bound."""
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        logger.warning(
            "tribar metrics exporter not started: cannot listen on %s:%s (%s); "
            "set tribar.metrics.listen_port to a free port",
            host, port, exc,
        )
        return False
    logger.info("tribar metrics exporter listening on http://%s:%s/metrics", host, port)
    return True
