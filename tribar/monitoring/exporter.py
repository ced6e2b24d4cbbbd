"""Start the Prometheus HTTP endpoint for a registry; never raises into the bot."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

logger = logging.getLogger(__name__)

DEFAULT_LISTEN_IP = "127.0.0.1"
DEFAULT_LISTEN_PORT = 9108


class MetricsSettings(BaseModel):
    """``tribar.metrics``; strings from env vars or compose files ("9108", "true") coerce."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    listen_ip_address: str = Field(default=DEFAULT_LISTEN_IP, min_length=1)
    listen_port: int = Field(default=DEFAULT_LISTEN_PORT, ge=0, le=65535)

    @field_validator("listen_port", mode="before")
    @classmethod
    def _no_bool_port(cls, value: Any) -> Any:
        # pydantic reads true as 1; a port of "true" is a mistake, never port 1.
        if isinstance(value, bool):
            raise ValueError("a boolean is not a port")
        return value


_EXPECTED = {
    "enabled": "true or false",
    "listen_ip_address": "a host or IP address string, e.g. 127.0.0.1 or 0.0.0.0",
    "listen_port": "an integer port 0..65535",
}


def settings_from_config(config: Mapping[str, Any]) -> MetricsSettings:
    """Read ``tribar.metrics`` from a config; bad values raise ValueError naming the key."""
    raw = (config.get("tribar") or {}).get("metrics") or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"tribar.metrics: expected an object, got {type(raw).__name__}")
    try:
        return MetricsSettings.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            expected = _EXPECTED.get(key, f"one of {', '.join(_EXPECTED)} (unknown key)")
            got = error.get("input")
            problems.append(f"tribar.metrics.{key}: expected {expected}, got {got!r}")
        raise ValueError("; ".join(problems)) from None


# Servers this process started, by address. Freqtrade's /reload_config builds a new strategy
# and calls bot_start again: the old server still holds the port, so it is shut down first
# rather than the new one failing as "port busy".
_SERVERS: dict[tuple[str, int], Any] = {}
_SERVERS_LOCK = threading.Lock()


def start_exporter(registry: CollectorRegistry, host: str, port: int) -> bool:
    """Serve ``registry`` on host:port. Returns False (one WARNING) if the port cannot be bound."""
    with _SERVERS_LOCK:
        previous = _SERVERS.pop((host, port), None)
        if previous is not None:
            previous.shutdown()
            previous.server_close()
        try:
            server, _thread = start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            logger.warning(
                "tribar metrics exporter not started: cannot listen on %s:%s (%s); "
                "set tribar.metrics.listen_port to a free port",
                host, port, exc,
            )  # fmt: skip
            return False
        _SERVERS[(host, port)] = server
    logger.info("tribar metrics exporter listening on http://%s:%s/metrics", host, port)
    return True


def is_serving(host: str, port: int) -> bool:
    """True while a server this process started on host:port runs."""
    with _SERVERS_LOCK:
        return (host, port) in _SERVERS


def stop_exporter(host: str, port: int) -> bool:
    """Stop the server this process started on host:port; False if there was none."""
    with _SERVERS_LOCK:
        server = _SERVERS.pop((host, port), None)
    if server is None:
        return False
    server.shutdown()
    server.server_close()
    return True
