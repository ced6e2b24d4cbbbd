"""The only module in tribar that patches Freqtrade internals; each patch is version-checked.

1. Offline markets. Freqtrade loads markets in
``Exchange.reload_markets`` (through ccxt's async ``load_markets``, then copies them to the sync
and websocket ccxt objects). Replacing that one method so it hands the snapshot to ccxt's
``set_markets`` on each ccxt object is enough for backtesting, hyperopt, lookahead-/recursive-
analysis and FreqAI backtests. ``check_freqtrade_compatible`` verifies the assumptions the patch
makes, so a Freqtrade upgrade that breaks them fails loudly instead of silently going online.

3. Keeping FreqAI's feature columns (opt-in, leakage checks only): ``keep_freqai_features``.

2. Exit code on configuration errors. Freqtrade's ``main()`` logs a ``ConfigurationError`` and
exits 0, so scripts and CI cannot see the failure. ``install_config_error_exit_code`` re-raises it
as an ``OperationalException``, which ``main()`` reports with exit code 2.

4. Telegram Bot API server. Freqtrade builds its Telegram application in
``Telegram._init_telegram_app`` with python-telegram-bot's defaults, i.e. api.telegram.org.
``install_telegram_api_url`` lets ``tribar.telegram_api_url`` (or ``TRIBAR_TELEGRAM_API_URL``)
point it at another Bot API server: a self-hosted one, or the test suite's fake on 127.0.0.1.
Without the setting the original method runs unchanged.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import inspect
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tribar.markets import MarketsSnapshot, MarketsSnapshotError

logger = logging.getLogger(__name__)

# Keep in step with the freqtrade requirement in pyproject.toml.
SUPPORTED_FREQTRADE = SpecifierSet(">=2026.9,<2026.10")

# Attributes of freqtrade.exchange.Exchange the patched method reads or writes.
_EXCHANGE_ATTRIBUTES = ("_api", "_api_async", "_ws_async", "_markets", "_last_markets_refresh")


class FreqtradeIncompatibleError(RuntimeError):
    """The installed Freqtrade no longer matches what the offline patch relies on."""


def check_freqtrade_compatible() -> None:
    import freqtrade
    from freqtrade.exchange import exchange as exchange_module

    version = Version(freqtrade.__version__)
    if version not in SUPPORTED_FREQTRADE:
        raise FreqtradeIncompatibleError(
            f"tribar's offline markets patch is tested with freqtrade {SUPPORTED_FREQTRADE}, "
            f"but freqtrade {version} is installed"
        )
    exchange_cls = exchange_module.Exchange
    original = getattr(exchange_cls, "_tribar_original_reload_markets", exchange_cls.reload_markets)
    params = list(inspect.signature(original).parameters)
    if params[:2] != ["self", "force"] or "load_leverage_tiers" not in params:
        raise FreqtradeIncompatibleError(
            f"Exchange.reload_markets{inspect.signature(original)} changed; expected "
            "(self, force=False, *, load_leverage_tiers=True)"
        )
    source = inspect.getsource(exchange_cls)
    missing = [a for a in _EXCHANGE_ATTRIBUTES if f"self.{a}" not in source]
    if missing:
        raise FreqtradeIncompatibleError(
            f"freqtrade.exchange.Exchange no longer has attribute(s) {', '.join(missing)}"
        )
    init_source = inspect.getsource(exchange_cls.__init__)
    if "self.reload_markets(" not in init_source:
        raise FreqtradeIncompatibleError(
            "Exchange.__init__ no longer loads markets through reload_markets(); "
            "the offline patch would not take effect"
        )


def pairs_needed(config: dict[str, Any]) -> list[str]:
    """The pairs a run needs markets for: the whitelist (after ``--pairs``) and FreqAI's
    correlated pairs."""
    pairs = list(config.get("exchange", {}).get("pair_whitelist", []))
    freqai = config.get("freqai", {})
    if freqai.get("enabled"):
        pairs += freqai.get("feature_parameters", {}).get("include_corr_pairlist", [])
    return list(dict.fromkeys(pairs))


def install_offline_markets(snapshot: MarketsSnapshot) -> None:
    """Patch ``Exchange.reload_markets`` to serve ``snapshot`` (idempotent; last call wins)."""
    check_freqtrade_compatible()
    from freqtrade.exceptions import ConfigurationError
    from freqtrade.exchange import exchange as exchange_module
    from freqtrade.util import dt_ts

    exchange_cls: Any = exchange_module.Exchange
    if not hasattr(exchange_cls, "_tribar_original_reload_markets"):
        exchange_cls._tribar_original_reload_markets = exchange_cls.reload_markets

    def reload_markets(self: Any, force: bool = False, *, load_leverage_tiers: bool = True) -> None:
        if self._last_markets_refresh > 0 and not force:
            return
        try:
            snapshot.check_exchange(self.id)
            snapshot.check_pairs(pairs_needed(self._config))
        except MarketsSnapshotError as exc:
            # Freqtrade's main() reports ConfigurationError as a configuration problem.
            raise ConfigurationError(str(exc)) from exc
        for api in (self._api_async, self._api, self._ws_async):
            if api is not None:
                api.set_markets(snapshot.markets)
        self._markets = self._api_async.markets
        self._last_markets_refresh = dt_ts()
        logger.info(
            "Loaded %d markets offline from snapshot %s", len(snapshot.markets), snapshot.source
        )

    exchange_cls.reload_markets = reload_markets
    exchange_cls._tribar_offline_snapshot = snapshot


def uninstall_offline_markets() -> None:
    from freqtrade.exchange import exchange as exchange_module

    exchange_cls: Any = exchange_module.Exchange
    original = getattr(exchange_cls, "_tribar_original_reload_markets", None)
    if original is not None:
        exchange_cls.reload_markets = original
        del exchange_cls._tribar_original_reload_markets
        del exchange_cls._tribar_offline_snapshot


def _check_main_compatible() -> None:
    from freqtrade import main as main_module

    source = inspect.getsource(main_module.main)
    if "Arguments(sysargv)" not in source or 'args["func"](args)' not in source:
        raise FreqtradeIncompatibleError(
            "freqtrade.main.main no longer builds Arguments(sysargv) and calls args['func']; "
            "tribar's configuration-error exit code patch does not apply"
        )


def install_config_error_exit_code() -> None:
    """Make ``freqtrade.main.main`` exit non-zero (2) on configuration errors (idempotent)."""
    check_freqtrade_compatible()
    _check_main_compatible()
    from freqtrade import main as main_module
    from freqtrade.commands import Arguments
    from freqtrade.exceptions import ConfigurationError, OperationalException

    if getattr(main_module.Arguments, "_tribar_patched", False):
        return

    class ArgumentsWithConfigErrorExit(Arguments):
        _tribar_patched = True

        def get_parsed_arg(self) -> dict[str, Any]:
            parsed: dict[str, Any] = super().get_parsed_arg()
            command = parsed.get("func")
            if command is None:
                return parsed

            def run_command(args: dict[str, Any]) -> Any:
                try:
                    return command(args)
                except ConfigurationError as exc:
                    raise OperationalException(f"Configuration error: {exc}") from exc

            parsed["func"] = run_command
            return parsed

    main_module.Arguments = ArgumentsWithConfigErrorExit


@contextmanager
def keep_freqai_features() -> Iterator[None]:
    """Keep FreqAI's ``%`` feature columns in the frames returned to the strategy (FreqAI drops
    them in ``FreqaiDataKitchen.remove_features_from_df``), so leakage checks can compare every
    feature the model saw. Signals never read these columns; the patch is undone on exit."""
    check_freqtrade_compatible()
    from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

    original = FreqaiDataKitchen.remove_features_from_df
    if list(inspect.signature(original).parameters) != ["self", "dataframe"]:
        raise FreqtradeIncompatibleError(
            f"FreqaiDataKitchen.remove_features_from_df{inspect.signature(original)} changed; "
            "expected (self, dataframe)"
        )

    def keep_all(self: Any, dataframe: Any) -> Any:
        return dataframe

    FreqaiDataKitchen.remove_features_from_df = keep_all
    try:
        yield
    finally:
        FreqaiDataKitchen.remove_features_from_df = original


TELEGRAM_API_URL_ENV = "TRIBAR_TELEGRAM_API_URL"
_TELEGRAM_MODULE = "freqtrade.rpc.telegram"
# The one line Freqtrade's _init_telegram_app may consist of for the replacement to be faithful:
# any further builder option Freqtrade adds would be lost, so a change must fail loudly.
_TELEGRAM_APP_BUILD = (
    'return Application.builder().token(self._config["telegram"]["token"]).build()'
)


def telegram_api_url(
    config: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> str | None:
    """The Bot API server root (``scheme://host[:port][/path]``) from ``TRIBAR_TELEGRAM_API_URL``,
    else from ``tribar.telegram_api_url``; None for Telegram's own servers."""
    from freqtrade.exceptions import ConfigurationError

    environ = os.environ if environ is None else environ
    value: Any = environ.get(TELEGRAM_API_URL_ENV) or (config.get("tribar") or {}).get(
        "telegram_api_url"
    )
    if value is None or value == "":
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"tribar.telegram_api_url / {TELEGRAM_API_URL_ENV} must be an http(s) URL of a "
            f"Telegram Bot API server, e.g. http://127.0.0.1:8081; got {value!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"tribar.telegram_api_url must not have a query: {value!r}")
    return value.rstrip("/")


def telegram_base_urls(api_url: str) -> tuple[str, str]:
    """python-telegram-bot's ``base_url`` and ``base_file_url`` for a Bot API server root (the
    token is appended to both, as on api.telegram.org: ``/bot<token>/getMe``)."""
    return f"{api_url}/bot", f"{api_url}/file/bot"


def _check_telegram_compatible(telegram_module: ModuleType) -> None:
    from telegram.ext import ApplicationBuilder

    telegram_cls = telegram_module.Telegram
    original = getattr(telegram_cls, "_tribar_original_init_telegram_app", None) or (
        telegram_cls._init_telegram_app
    )
    body = [
        line.strip()
        for line in inspect.getsource(original).splitlines()[1:]
        if line.strip() and not line.strip().startswith("#")
    ]
    if body != [_TELEGRAM_APP_BUILD]:
        raise FreqtradeIncompatibleError(
            "freqtrade.rpc.telegram.Telegram._init_telegram_app changed; tribar's Bot API "
            f"server patch expects exactly: {_TELEGRAM_APP_BUILD}"
        )
    if "self._app = self._init_telegram_app()" not in inspect.getsource(telegram_cls._init):
        raise FreqtradeIncompatibleError(
            "Telegram._init no longer builds its application through _init_telegram_app(); "
            "tribar.telegram_api_url would not take effect"
        )
    missing = [m for m in ("base_url", "base_file_url") if not hasattr(ApplicationBuilder, m)]
    if missing:
        raise FreqtradeIncompatibleError(
            f"python-telegram-bot's ApplicationBuilder has no {', '.join(missing)}"
        )


def _patch_telegram_module(telegram_module: ModuleType) -> None:
    telegram_cls: Any = telegram_module.Telegram
    if hasattr(telegram_cls, "_tribar_original_init_telegram_app"):
        return
    check_freqtrade_compatible()
    _check_telegram_compatible(telegram_module)
    original = telegram_cls._init_telegram_app

    def _init_telegram_app(self: Any) -> Any:
        api_url = telegram_api_url(self._config)
        if api_url is None:
            return original(self)
        base_url, base_file_url = telegram_base_urls(api_url)
        logger.info("Telegram: using the Bot API server at %s", api_url)
        return (
            telegram_module.Application.builder()
            .token(self._config["telegram"]["token"])
            .base_url(base_url)
            .base_file_url(base_file_url)
            .build()
        )

    telegram_cls._tribar_original_init_telegram_app = original
    telegram_cls._init_telegram_app = _init_telegram_app


class _PatchTelegramOnImport(importlib.abc.MetaPathFinder):
    """Applies the Telegram patch right after ``freqtrade.rpc.telegram`` is imported. Importing
    it eagerly would cost every ``tribar ft`` command seconds (it pulls in all of freqtrade.rpc)
    although only ``trade`` ever starts Telegram."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TELEGRAM_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader

        class PatchingLoader(importlib.abc.Loader):
            def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
                return loader.create_module(spec)

            def exec_module(self, module: ModuleType) -> None:
                loader.exec_module(module)
                _patch_telegram_module(module)

        spec.loader = PatchingLoader()
        return spec


def install_telegram_api_url(*, lazy: bool = False) -> None:
    """Make Freqtrade's Telegram use ``tribar.telegram_api_url`` / ``TRIBAR_TELEGRAM_API_URL``
    when set (idempotent). ``lazy``: if Freqtrade's Telegram module is not imported yet, patch
    it when it is, instead of importing it now."""
    module = sys.modules.get(_TELEGRAM_MODULE)
    if module is not None:
        _patch_telegram_module(module)
    elif lazy:
        if not any(isinstance(f, _PatchTelegramOnImport) for f in sys.meta_path):
            sys.meta_path.insert(0, _PatchTelegramOnImport())
    else:
        import freqtrade.rpc.telegram as telegram_module

        _patch_telegram_module(telegram_module)


def uninstall_telegram_api_url() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PatchTelegramOnImport)]
    module = sys.modules.get(_TELEGRAM_MODULE)
    if module is None:
        return
    telegram_cls: Any = module.Telegram
    original = getattr(telegram_cls, "_tribar_original_init_telegram_app", None)
    if original is not None:
        telegram_cls._init_telegram_app = original
        del telegram_cls._tribar_original_init_telegram_app
