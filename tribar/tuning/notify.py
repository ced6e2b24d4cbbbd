"""What the weekly tune tells the outside world: a Telegram message (Bot API over HTTP) and,
optionally, ``reload_config`` on a running bot. A failure of either is logged, never fatal."""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org"


def telegram_api_url(config: Mapping[str, Any]) -> str:
    # The same switch the bot's own Telegram uses (tribar.freqtrade_patches): a local Bot API
    # server or a proxy.
    url = os.environ.get("TRIBAR_TELEGRAM_API_URL") or (config.get("tribar") or {}).get(
        "telegram_api_url"
    )
    return str(url or TELEGRAM_API).rstrip("/")


def send_telegram(config: Mapping[str, Any], text: str, *, timeout: float = 10.0) -> bool:
    """sendMessage to the config's Telegram chat; False (logged) when it is not configured or
    the server fails."""
    telegram = config.get("telegram") or {}
    token, chat_id = telegram.get("token"), telegram.get("chat_id")
    if not telegram.get("enabled") or not token or not chat_id:
        logger.info("tribar tune: Telegram not enabled; message not sent")
        return False
    url = f"{telegram_api_url(config)}/bot{token}/sendMessage"
    body = urllib.parse.urlencode({"chat_id": str(chat_id), "text": text}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=timeout) as r:
            answer = json.loads(r.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("tribar tune: Telegram message not sent (%s)", exc)
        return False
    if not answer.get("ok"):
        logger.warning("tribar tune: Telegram refused the message: %s", answer)
        return False
    return True


def reload_running_bot(config: Mapping[str, Any], *, timeout: float = 10.0) -> bool:
    """POST /api/v1/reload_config with Freqtrade's REST client (the config's api_server).

    True when the bot accepted (Freqtrade answers ``{"status": "Reloading config ..."}``). An
    unreachable bot, a refusal (wrong credentials: ``{"detail": "Unauthorized"}``) or any other
    error is logged and gives False, never an exception: the promotion is already on disk and the
    bot reads it at its next start."""
    api = config.get("api_server") or {}
    if not api.get("enabled"):
        logger.warning("tribar tune: api_server not enabled; the bot was not asked to reload")
        return False
    host = api.get("listen_ip_address", "127.0.0.1")
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{host}:{api.get('listen_port', 8080)}"
    try:
        from freqtrade_client import FtRestClient

        client = FtRestClient(url, api.get("username"), api.get("password"), timeout=timeout)
        answer = client.reload_config()
    except Exception as exc:
        logger.warning("tribar tune: reload_config on %s failed (%s)", url, exc)
        return False
    if not isinstance(answer, Mapping) or "status" not in answer:
        # None: FtRestClient logged a connection error and returned nothing.
        logger.warning("tribar tune: the bot at %s did not reload: %s", url, answer)
        return False
    logger.info("tribar tune: the bot at %s reloads its config: %s", url, answer["status"])
    return True
