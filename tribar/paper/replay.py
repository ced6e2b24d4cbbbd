"""``tribar paper --replay FROM..TO``: a real ``freqtrade trade`` dry-run on historical data.

The bot is Freqtrade's own: its worker loop, FreqAI's live training thread, the strategy's
callbacks, protections, dry-run order simulation, the REST API and Telegram. The replay
supplies markets from the snapshot, candles/tickers/order books from the candle files, and a
simulated clock (``tribar.replay_patches``). Each run lives in its own folder: the bot's trades
database, the ledger, FreqAI's models and downloaded candles, and Freqtrade's log.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.paper.errors import ReplayError

logger = logging.getLogger(__name__)

DEFAULT_STEP_SECONDS = 300
REPLAY_DB_NAME = "tradesv3.replay.sqlite"
OVERRIDES_NAME = "replay-overrides.json"
LOG_NAME = "freqtrade.log"
STATUS_NAME = "replay-status.json"
# freqtrade.main's exit code after a KeyboardInterrupt (the replay's end raises one).
_SIGINT_EXIT = 130


def parse_replay_range(text: str) -> tuple[datetime, datetime]:
    """``FROM..TO`` with dates ``YYYYMMDD``, ``YYYY-MM-DD`` or ISO datetimes (UTC)."""
    if ".." not in text:
        raise ReplayError(f"--replay takes FROM..TO (e.g. 20250601..20250615), got {text!r}")
    start_text, end_text = text.split("..", 1)
    start, end = _parse_instant(start_text, "FROM"), _parse_instant(end_text, "TO")
    if end <= start:
        raise ReplayError(f"--replay {text}: TO must be after FROM")
    return start, end


def _parse_instant(text: str, what: str) -> datetime:
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ReplayError(
        f"--replay {what} {text!r} is not a date (YYYYMMDD, YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
    )


@dataclass
class ReplayOptions:
    start: datetime
    end: datetime
    configs: list[str]
    run_dir: Path
    datadir: Path | None = None  # default: the config's datadir (the bundled candles)
    markets_file: str | None = None
    speed: float | None = None  # simulated seconds per wall second; None = as fast as possible
    step_seconds: int = DEFAULT_STEP_SECONDS
    hold: bool = False
    strategy: str | None = None
    fresh: bool = True  # False (--resume): continue on the run folder's database and models
    extra_args: list[str] = field(default_factory=list)
    on_step: Callable[[Any], None] | None = None


@dataclass
class ReplayResult:
    exit_code: int
    run_dir: Path
    db_url: str
    log_file: Path
    simulated_hours: float
    wall_seconds: float
    steps: int

    @property
    def speed(self) -> float:
        """Simulated hours per wall second."""
        return self.simulated_hours / self.wall_seconds if self.wall_seconds > 0 else 0.0


def replay_db_url(run_dir: Path) -> str:
    return f"sqlite:///{(run_dir / REPLAY_DB_NAME).resolve()}"


def build_overrides(
    base: dict[str, Any], options: ReplayOptions, source_datadir: Path
) -> dict[str, Any]:
    """The config layer a replay adds over the user's files: dry-run, its own folder, the
    simulated step, no websockets or fiat conversion (both would need the network)."""
    from freqtrade.loggers import LOGFORMAT

    run_dir = options.run_dir.resolve()
    exchange = base.get("exchange", {}).get("name", "binance")
    overrides: dict[str, Any] = {
        "dry_run": True,
        "user_data_dir": str(run_dir),
        # The run folder has no freqaimodels/: name the bundle's (config.json names none).
        "freqaimodel_path": base.get("freqaimodel_path") or str(FREQAIMODEL_DIR),
        "datadir": str(run_dir / "data" / exchange),
        "db_url": replay_db_url(run_dir),
        "fiat_display_currency": "",
        "initial_state": "running",
        "exchange": {"enable_ws": False},
        "internals": {"process_throttle_secs": options.step_seconds, "heartbeat_interval": 0},
        "tribar": {
            "replay": {
                "source_datadir": str(source_datadir),
                "start": options.start.isoformat(),
                "end": options.end.isoformat(),
                # What `tribar paper parity` needs to backtest the same bot.
                "configs": [str(Path(c).resolve()) for c in options.configs],
                "extra_args": list(options.extra_args),
                "step_seconds": options.step_seconds,
            }
        },
        # Freqtrade's log goes to the run folder (--logfile); the terminal shows the replay's
        # progress and only errors from the bot.
        "log_config": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "basic": {"format": "%(message)s"},
                "standard": {"format": LOGFORMAT},
            },
            "handlers": {
                "console": {
                    "class": "freqtrade.loggers.ft_rich_handler.FtRichHandler",
                    "formatter": "basic",
                    "level": "ERROR",
                }
            },
            "root": {"handlers": ["console"], "level": "INFO"},
        },
    }
    if options.strategy:
        overrides["strategy"] = options.strategy
    return overrides


def _source_datadir(base: dict[str, Any], options: ReplayOptions) -> Path:
    if options.datadir is not None:
        return options.datadir.resolve()
    configured = base.get("datadir")
    if configured:
        return Path(configured).resolve()
    user_data = Path(base.get("user_data_dir", "user_data"))
    return (user_data / "data" / base.get("exchange", {}).get("name", "binance")).resolve()


def prepare_run_dir(options: ReplayOptions) -> None:
    run_dir = options.run_dir
    if run_dir.exists():
        marker = run_dir / OVERRIDES_NAME
        if not marker.is_file():
            raise ReplayError(
                f"{run_dir} exists and is not a replay folder (no {OVERRIDES_NAME}); "
                "choose another --run-dir"
            )
        if options.fresh:
            shutil.rmtree(run_dir)
        else:
            # Resuming keeps the database, models and log; the old status says "finished".
            (run_dir / STATUS_NAME).unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)


def run_replay(options: ReplayOptions) -> ReplayResult:
    """Run the bot through the replay range; return when it stopped."""
    from freqtrade.configuration.load_config import load_from_files

    from tribar.freqtrade_patches import install_offline_markets
    from tribar.ftcli import markets_file_from_config, run_freqtrade_main
    from tribar.markets import BUNDLED_SNAPSHOT, load_snapshot
    from tribar.paper.clock import ReplayClock
    from tribar.paper.market_data import CandleLoader, HistoricalMarket
    from tribar.replay_patches import ReplaySession, install_replay, uninstall_replay

    base = load_from_files(list(options.configs))
    source = _source_datadir(base, options)
    markets_path = (
        options.markets_file
        or os.environ.get("TRIBAR_MARKETS_FILE")
        or markets_file_from_config(options.configs)
        or str(BUNDLED_SNAPSHOT)
    )
    snapshot = load_snapshot(markets_path)
    market = HistoricalMarket(CandleLoader(source), snapshot.markets)
    pairs = list(base.get("exchange", {}).get("pair_whitelist", []))
    market.check_covers(pairs, _ms(options.start), _ms(options.end))

    prepare_run_dir(options)
    overrides_path = options.run_dir / OVERRIDES_NAME
    overrides_path.write_text(json.dumps(build_overrides(base, options, source), indent=2))
    log_file = options.run_dir / LOG_NAME
    config_args = [arg for config in options.configs for arg in ("-c", config)]
    argv = ["trade", *config_args, "-c", str(overrides_path),
            "--logfile", str(log_file), *options.extra_args]  # fmt: skip

    install_offline_markets(snapshot)
    clock = ReplayClock(options.start, options.end)
    session = ReplaySession(
        market=market, clock=clock, hold=options.hold, speed=options.speed,
        on_step=options.on_step, status_file=options.run_dir / STATUS_NAME,
    )  # fmt: skip
    started = time.monotonic()
    install_replay(session)
    try:
        with clock:
            code = run_freqtrade_main(argv)
    finally:
        uninstall_replay()
    wall = time.monotonic() - started
    if code == _SIGINT_EXIT and clock.finished:
        code = 0  # the replay's own stop at the end of the range, not a user's Ctrl-C
    simulated = (clock.now() - options.start).total_seconds() / 3600
    return ReplayResult(
        code, options.run_dir, replay_db_url(options.run_dir), log_file, simulated, wall,
        session.steps,
    )  # fmt: skip


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def default_run_dir(start: datetime, end: datetime, user_data: Path = Path("user_data")) -> Path:
    return user_data / "paper" / f"replay-{start:%Y%m%d}-{end:%Y%m%d}"


__all__: Sequence[str] = (
    "ReplayOptions",
    "ReplayResult",
    "build_overrides",
    "default_run_dir",
    "parse_replay_range",
    "run_replay",
)
