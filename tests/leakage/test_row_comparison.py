"""tribar.leakage's row-level comparison: what counts as a difference, and what it explains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tribar.leakage import (
    SCRATCH_MARKER,
    LeakageReport,
    check_models_folder_is_scratch,
    compare_frames,
    differing_cells,
    unexplained_differences,
)

ALLOWED = {"tp", "do_predict"}


def analysed(n: int, *, leak: bool = False, fill_last: bool = False) -> pd.DataFrame:
    """A toy analysed frame of the first ``n`` candles, like a cut run would produce."""
    close = pd.Series(np.linspace(100.0, 120.0, 50) + np.sin(np.arange(50)))[:n]
    df = pd.DataFrame(
        {
            "date": pd.date_range("2025-07-01", periods=n, freq="1h", tz="UTC"),
            "close": close,
            "%-ema": close.ewm(span=5).mean(),
            "%-warmup": close.rolling(10).mean(),  # NaN at the start in both runs
            "tp": np.linspace(0.1, 0.9, 50)[:n],
            "do_predict": 1.0,
            "&-tb": pd.Series(np.where(np.arange(n) % 2 == 0, "tp", "no_tp"), dtype=object),
        }
    )
    if leak:
        df["%-future"] = close.shift(-3)
    if fill_last:  # FreqAI's zero fill outside its half-open prediction window
        df.loc[df.index[-1], ["tp", "do_predict", "&-tb"]] = [0.0, 0.0, 0]
    return df


def test_identical_frames_have_no_differences_nan_equals_nan() -> None:
    full, cut = analysed(50), analysed(30)
    assert full["%-warmup"].isna().any()
    assert differing_cells(full, cut).empty
    comparison = compare_frames("t", "X/Y", full, cut)
    assert comparison.n_differences == 0 and comparison.index_aligned
    assert comparison.rows_compared == 30 and comparison.cut_end == "2025-07-02T05:00:00+00:00"


def test_zero_filled_last_candle_is_explained_only_by_the_allowed_columns() -> None:
    comparison = compare_frames("t", "X/Y", analysed(50), analysed(30, fill_last=True))
    assert comparison.n_differences_before_end == 0
    assert comparison.columns_differing_at_end() == {"tp", "do_predict", "&-tb"}
    assert comparison.end_row_cut["&-tb"] == 0 and comparison.end_row_full["&-tb"] == "no_tp"
    assert unexplained_differences(comparison, ALLOWED | {"&-tb"}) == []
    # A column not produced by the prediction may not differ, even on the last candle.
    assert [d.column for d in unexplained_differences(comparison, ALLOWED)] == ["&-tb"]


def test_a_lookahead_shows_up_before_the_cut() -> None:
    comparison = compare_frames("t", "X/Y", analysed(50, leak=True), analysed(30, leak=True))
    unexplained = unexplained_differences(comparison, ALLOWED)
    assert comparison.n_differences_before_end == 2
    assert [(d.column, d.cut) for d in unexplained] == [("%-future", None)] * 3
    assert [d.date for d in unexplained][-1] == comparison.cut_end


def test_cell_equality_rules() -> None:
    dates = pd.date_range("2025-07-01", periods=5, freq="1h", tz="UTC")
    full = pd.DataFrame(
        {
            "date": dates,
            "obj": pd.Series(["tp", 1, True, None, 2.0], dtype=object),
            "num": [1.0, np.nan, 3.0, 4.0, -0.0],
        }
    )
    cut = pd.DataFrame(
        {
            "date": dates,
            "obj": pd.Series([0, 1.0, 1.0, np.nan, np.float64(2.0)], dtype=object),
            "num": [1, np.nan, 3.0000000000000004, 4, 0.0],
        }
    )
    cells = differing_cells(full, cut)
    # "tp" vs 0 and True vs 1.0 differ; 1 vs 1.0, None vs NaN, 2.0 vs np.float64(2.0) do not;
    # floats compare exactly.
    assert list(zip(cells["column"], cells["date"].dt.hour, strict=True)) == [
        ("obj", 0),
        ("num", 2),
        ("obj", 2),
    ]


def test_cut_candles_missing_from_the_full_run_are_an_error() -> None:
    full, cut = analysed(20), analysed(30)
    with pytest.raises(ValueError, match="candle"):
        differing_cells(full, cut)


def test_report_round_trips_through_strict_json() -> None:
    full, cut = analysed(50), analysed(30, fill_last=True)
    full.loc[29, "close"] = np.inf
    report = LeakageReport("lookahead-analysis", "S", [compare_frames("t", "X/Y", full, cut)])
    report.total_signals, report.false_indicators = 3, ["tp"]
    text = report.to_json()
    assert "NaN" not in text and "Infinity" not in text
    again = LeakageReport.from_json(text)
    assert again == report
    assert again.comparisons[0].differences == report.comparisons[0].differences


def test_models_folder_guard(tmp_path: Path) -> None:
    config = {"user_data_dir": str(tmp_path), "freqai": {"identifier": "ident"}}
    check_models_folder_is_scratch(config)  # no folder: nothing to delete
    folder = tmp_path / "models" / "ident"
    folder.mkdir(parents=True)
    (folder / "model.joblib").write_text("x")
    with pytest.raises(SystemExit, match="FREQTRADE__FREQAI__IDENTIFIER"):
        check_models_folder_is_scratch(config)
    (folder / SCRATCH_MARKER).write_text("")
    check_models_folder_is_scratch(config)
    check_models_folder_is_scratch({"user_data_dir": str(tmp_path), "freqai": {}})
