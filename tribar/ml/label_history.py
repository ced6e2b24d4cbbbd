"""The long-run take-profit rate of a pair: every label its trainings have seen, kept on disk.

A FreqAI training window (90 days by default) holds about 2000 hourly labels that overlap by H
candles, so its take-profit rate is a noisy estimate of the next window's (the walk-forward
evaluation measured ECE 0.032 for that forecast against 0.022 for the rate over all earlier
labels of the pair). Each training adds its labels here; the rate a training uses counts only
labels complete before that training's own purged tail, so a file left by a later run (or a
later walk-forward window of the same backtest) can never leak into an earlier window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

HISTORY_DIR = "tribar_label_history"


class TakeProfitHistory:
    """Per-pair ``date -> take-profit (0/1)`` under ``directory`` (one feather file per pair)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file(self, pair: str) -> Path:
        return self.directory / f"{pair.replace('/', '_').replace(':', '_')}.feather"

    def load(self, pair: str) -> pd.Series:
        path = self._file(pair)
        if not path.exists():
            return pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="int8")
        try:
            frame = pd.read_feather(path)
            series = pd.Series(
                frame["take_profit"].to_numpy("int8"), index=pd.DatetimeIndex(frame["date"])
            )
        except Exception as exc:  # named, so the training that catches it can say what to fix
            raise ValueError(
                f"label history {path} is unreadable ({exc}); expected a feather file with "
                "columns date, take_profit; delete it to start a new history"
            ) from exc
        return series

    def record(self, pair: str, dates: pd.Series, take_profit: npt.ArrayLike) -> pd.Series:
        """Add labelled rows (a re-seen date takes the new value) and return the whole history."""
        new = pd.Series(np.asarray(take_profit, dtype="int8"), index=pd.DatetimeIndex(dates))
        if new.index.tz is None:
            new.index = new.index.tz_localize("UTC")
        merged = pd.concat([self.load(pair), new])
        merged = merged[~merged.index.duplicated(keep="last")].sort_index()
        self.directory.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"date": merged.index, "take_profit": merged.to_numpy()}).to_feather(
            self._file(pair)
        )
        return merged

    @staticmethod
    def rate(history: pd.Series, known_before: pd.Timestamp) -> tuple[float, int]:
        """Take-profit rate and count of the labels dated before ``known_before``."""
        known = history[history.index < known_before]
        return (float(known.mean()) if len(known) else float("nan")), len(known)
