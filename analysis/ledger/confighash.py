"""``config_hash``: which effective configuration produced a trade, without storing secrets.

The hash is taken over canonical JSON (sorted keys, no whitespace) of the config with secrets
and run-time bookkeeping removed, so rotating an API key or starting the bot from another folder
does not change it, while changing a strategy parameter, the pair list or the stake does.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

# Keys whose value is a credential wherever they appear (compared case-insensitively).
SECRET_KEYS = frozenset(
    {
        "key",
        "secret",
        "password",
        "token",
        "jwt_secret_key",
        "ws_token",
        "chat_id",
        "api_key",
        "apikey",
        "uid",
        "account_id",
        "accountid",
        "private_key",
        "privatekey",
        "wallet_address",
        "walletaddress",
        "webhook_url",
        "username",
    }
)

# Added by Freqtrade at run time or describing where files are, not how the bot trades.
RUNTIME_KEYS = frozenset(
    {
        "original_config",
        "config_files",
        "runmode",
        "user_data_dir",
        "datadir",
        "exportdirectory",
        "exportfilename",
        "logfile",
        "verbosity",
        "print_colorized",
        "db_url",
    }
)

# Query parameters that carry credentials in database/webhook URLs.
_SECRET_QUERY_PARAMS = frozenset({"password", "pass", "pwd", "token", "secret", "key", "apikey"})
# Any '@' after "scheme://": user info. Lenient on purpose, like SQLAlchemy's URL parser, which
# accepts unescaped '/' and '[' in passwords; a false positive only drops a key from the hash.
_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^@]*@")


def url_has_credentials(value: str) -> bool:
    """True for ``scheme://user:pass@host`` or a URL with a password/token query parameter.

    Matched on the text, not with urlsplit, which rejects passwords containing '[' or '/'.
    """
    if _USERINFO.search(value):
        return True
    _, _, query = value.partition("?")
    return any(k.lower() in _SECRET_QUERY_PARAMS for k, _ in parse_qsl(query.split("#")[0]))


def _is_secret(key: str, value: Any) -> bool:
    lowered = key.lower()
    if lowered in SECRET_KEYS:
        return True
    return lowered.endswith("url") and isinstance(value, str) and url_has_credentials(value)


def strip_secrets(config: Any) -> Any:
    """A deep copy of ``config`` without secret keys and without credential-bearing URLs."""
    if isinstance(config, Mapping):
        return {str(k): strip_secrets(v) for k, v in config.items() if not _is_secret(str(k), v)}
    if isinstance(config, list | tuple):
        return [strip_secrets(v) for v in config]
    return config


def _canonical(value: Any) -> Any:
    # Non-JSON values (enums, paths, NaN) get a stable text form instead of failing the bot.
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(getattr(value, "value", value))


def effective_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as hashed: secrets and run-time keys removed (top level only for the latter)."""
    stripped: dict[str, Any] = strip_secrets(config)
    return {k: v for k, v in stripped.items() if k not in RUNTIME_KEYS}


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 hex digest (64 chars) of the canonical JSON of :func:`effective_config`."""
    text = json.dumps(
        _canonical(effective_config(config)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
