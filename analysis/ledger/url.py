"""Where the ledger lives: one resolution rule for the CLI, the mirror and the importers.

Order: an explicit URL (``--url``) > ``TRIBAR_LEDGER_URL`` > config ``tribar.ledger_url`` >
an embedded SQLite file under ``user_data``. Freqtrade's own config loader reads the ``-c`` files
so ``add_config_files`` and the usual layering behave as they do for ``freqtrade`` itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

ENV_VAR = "TRIBAR_LEDGER_URL"
DEFAULT_LEDGER_FILE = "tribar_ledger.sqlite"
DEFAULT_OUTBOX_FILE = "tribar_ledger_outbox.sqlite"
DEFAULT_URL = f"sqlite:///user_data/{DEFAULT_LEDGER_FILE}"


class LedgerConfigError(ValueError):
    """The ledger settings (URL, config keys, config files) are missing or malformed."""


def _tribar_section(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not config:
        return {}
    section = config.get("tribar")
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise LedgerConfigError(
            f"config key 'tribar' must be an object, got {type(section).__name__}: {section!r}"
        )
    return section


def tribar_setting(config: Mapping[str, Any] | None, key: str) -> Any:
    """``config["tribar"][key]`` or None."""
    return _tribar_section(config).get(key)


def user_data_dir(config: Mapping[str, Any] | None) -> Path:
    value = (config or {}).get("user_data_dir") or "user_data"
    if not isinstance(value, str | os.PathLike):
        raise LedgerConfigError(f"config key 'user_data_dir' must be a path string, got {value!r}")
    return Path(value)


def validate_url(url: str, origin: str) -> URL:
    """Parse ``url`` (from ``origin``, for the error message) and check the driver is usable."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise LedgerConfigError(
            f"ledger URL from {origin} is not a database URL: {url!r} "
            "(expected e.g. sqlite:///user_data/tribar_ledger.sqlite or "
            "postgresql+psycopg2://user:password@host:5432/dbname)"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise LedgerConfigError(
            f"ledger URL from {origin} uses '{backend}'; the ledger supports sqlite and "
            "postgresql (postgresql+psycopg2://...)"
        )
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise LedgerConfigError(
            f"ledger URL from {origin} is an in-memory SQLite database ({url!r}); the ledger "
            "must survive restarts, give a file: sqlite:///path/to/ledger.sqlite"
        )
    return parsed


def resolve_ledger_url(
    cli_url: str | None = None,
    config: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """The ledger URL by precedence: ``cli_url`` > $TRIBAR_LEDGER_URL > config > default."""
    environ = os.environ if env is None else env
    candidates: list[tuple[str | None, str]] = [
        (cli_url, "--url"),
        (environ.get(ENV_VAR) or None, f"environment variable {ENV_VAR}"),
    ]
    configured = tribar_setting(config, "ledger_url")
    if configured is not None and not isinstance(configured, str):
        raise LedgerConfigError(
            f"config key tribar.ledger_url must be a database URL string, got {configured!r}"
        )
    candidates.append((configured or None, "config key tribar.ledger_url"))
    for url, origin in candidates:
        if url:
            validate_url(url, origin)
            return url
    if config and config.get("user_data_dir"):
        path = user_data_dir(config) / DEFAULT_LEDGER_FILE
        return f"sqlite:///{path}"
    return DEFAULT_URL


def resolve_outbox_path(config: Mapping[str, Any] | None) -> Path:
    """``tribar.ledger_outbox`` or ``<user_data>/tribar_ledger_outbox.sqlite``."""
    configured = tribar_setting(config, "ledger_outbox")
    if configured is not None:
        if not isinstance(configured, str) or not configured:
            raise LedgerConfigError(
                f"config key tribar.ledger_outbox must be a file path string, got {configured!r}"
            )
        return Path(configured)
    return user_data_dir(config) / DEFAULT_OUTBOX_FILE


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


def load_cli_config(paths: Sequence[str] | None) -> dict[str, Any]:
    """The merged ``-c`` config files; ``config.json`` in the working directory if none given.

    No config at all is fine (an empty dict): the ledger then uses its defaults.
    """
    files = list(paths or [])
    if not files:
        if not Path("config.json").is_file():
            return {}
        files = ["config.json"]
    for f in files:
        if f != "-" and not Path(f).is_file():
            raise LedgerConfigError(f"config file {f} does not exist")
    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.exceptions import OperationalException

    try:
        config: dict[str, Any] = load_from_files(files)
    except OperationalException as exc:
        raise LedgerConfigError(f"cannot read config {', '.join(files)}: {exc}") from exc
    return config
