"""Row-level evidence behind Freqtrade's ``lookahead-analysis`` and ``recursive-analysis``.

Both Freqtrade tools run a strategy twice, once on a full range and once on a range cut at a
later candle, and flag every column whose values differ. Freqtrade only logs the first
difference of each column, which cannot tell a real lookahead from an artefact of the cut. The
classes here subclass Freqtrade's own analyses (same backtests, same data, same config
overrides), record each full/cut pair of analysed frames and report every differing cell with
its candle, so a check can assert *where* the differences are.

For FreqAI strategies the expected picture is: every candle strictly before the cut run's last
candle is identical in every column, and the last candle differs only in FreqAI's outputs and
what the strategy derives from them. FreqAI predicts the half-open window
``[start, stop)`` of the backtest range (``date < tr_backtest.stopdt`` in
``IFreqaiModel.start_backtesting``) while the cut frame includes the candle at ``stop``;
``FreqaiDataKitchen.fill_predictions`` fills that candle's outputs with ``0``.

Run (writes a JSON report; Freqtrade's own table is printed as usual)::

    FREQTRADE__FREQAI__IDENTIFIER=tribar-leakcheck python -m tribar.leakage \\
        lookahead-analysis --report leak.json -c config.json --strategy ... --timerange ...

Freqtrade's analyses delete ``<user_data_dir>/models/<freqai identifier>`` before every run; the
runner here refuses to start when that folder holds models it did not create itself.
"""

from __future__ import annotations

import argparse
import json
import math
import numbers
import os
import sys
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from freqtrade.optimize.analysis.base_analysis import VarHolder
from freqtrade.optimize.analysis.lookahead import LookaheadAnalysis
from freqtrade.optimize.analysis.recursive import RecursiveAnalysis

from tribar.freqtrade_patches import keep_freqai_features

LABEL_PREFIX = "&"
FEATURE_PREFIX = "%"
SCRATCH_MARKER = ".tribar-leakage-scratch"
# Differences kept per comparison in a report (all are counted).
MAX_REPORTED_DIFFERENCES = 500


@dataclass(frozen=True)
class CellDifference:
    date: str
    column: str
    full: Any
    cut: Any


@dataclass
class FrameComparison:
    """One full/cut pair of analysed frames of ``pair``, compared candle by candle."""

    check: str
    pair: str
    cut_end: str
    """Date of the cut frame's last candle (ISO, UTC)."""
    rows_compared: int
    columns_compared: list[str]
    index_aligned: bool
    """Freqtrade aligns the frames by index; True when that is the same as aligning by date."""
    n_differences: int
    n_differences_before_end: int
    differences: list[CellDifference]
    """The first ``MAX_REPORTED_DIFFERENCES`` differing cells, earliest candle first."""
    end_row_full: dict[str, Any]
    end_row_cut: dict[str, Any]
    """Both frames' values on the cut's last candle (non-feature columns), differing or not."""
    columns_only_in_full: list[str] = field(default_factory=list)
    columns_only_in_cut: list[str] = field(default_factory=list)

    def differences_before_end(self) -> list[CellDifference]:
        return [d for d in self.differences if d.date < self.cut_end]

    def columns_differing_at_end(self) -> set[str]:
        return {d.column for d in self.differences if d.date == self.cut_end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameComparison:
        values = dict(data)
        values["differences"] = [CellDifference(**d) for d in data["differences"]]
        return cls(**values)


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value (NaN and missing values become None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return _iso(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return str(value)  # strict JSON has no infinity
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _iso(value: Any) -> str:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(UTC)
    return str(stamp.tz_convert(UTC).isoformat())


def _equal_cells(a: pd.Series, b: pd.Series) -> npt.NDArray[np.bool_]:
    """Element-wise equality where NaN/None equals NaN/None; exact, no tolerance."""
    both_missing = a.isna().to_numpy() & b.isna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(a.dtype) and pd.api.types.is_numeric_dtype(b.dtype)
    if numeric and not (pd.api.types.is_bool_dtype(a.dtype) ^ pd.api.types.is_bool_dtype(b.dtype)):
        with np.errstate(invalid="ignore"):
            same = a.to_numpy(dtype=np.float64, na_value=np.nan) == b.to_numpy(
                dtype=np.float64, na_value=np.nan
            )
    else:
        same = np.fromiter(
            (
                _same_value(x, y)
                for x, y in zip(a.to_numpy(dtype=object), b.to_numpy(dtype=object), strict=True)
            ),
            dtype=bool,
            count=len(a),
        )
    result: npt.NDArray[np.bool_] = same | both_missing
    return result


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool | np.bool_)


def _same_value(x: Any, y: Any) -> bool:
    """Equality of two cells of an object column: numbers by value, anything else by type and
    value (``"tp"`` is not ``0``, ``True`` is not ``1.0``); missing values are handled apart."""
    if pd.isna(x) or pd.isna(y):
        return False
    if _is_number(x) and _is_number(y):
        return bool(x == y)
    return type(x) is type(y) and bool(x == y)


def differing_cells(
    full: pd.DataFrame, cut: pd.DataFrame, date_column: str = "date"
) -> pd.DataFrame:
    """Every cell of ``cut`` that differs from the same candle and column of ``full``.

    Frames are aligned on ``date_column``; columns present in only one frame are not compared
    (``FrameComparison`` lists them). Returns columns ``date, column, full, cut``, sorted by date.
    """
    for name, frame in (("full", full), ("cut", cut)):
        if frame[date_column].duplicated().any():
            raise ValueError(f"{name} frame has duplicate {date_column!r} values")
    left = full.set_index(date_column)
    right = cut.set_index(date_column)
    missing = right.index.difference(left.index)
    if len(missing):
        raise ValueError(
            f"cut frame has {len(missing)} candle(s) the full frame lacks, e.g. {missing[0]}"
        )
    columns = [c for c in right.columns if c in left.columns]
    left = left.loc[right.index, columns]
    parts: list[pd.DataFrame] = []
    for column in columns:
        unequal = ~_equal_cells(left[column], right[column])
        if unequal.any():
            parts.append(
                pd.DataFrame(
                    {
                        "date": right.index[unequal],
                        "column": column,
                        "full": left[column].to_numpy(dtype=object)[unequal],
                        "cut": right[column].to_numpy(dtype=object)[unequal],
                    }
                )
            )
    if not parts:
        return pd.DataFrame(
            {
                "date": right.index[:0],
                "column": pd.Series([], dtype=object),
                "full": pd.Series([], dtype=object),
                "cut": pd.Series([], dtype=object),
            }
        )
    return pd.concat(parts, ignore_index=True).sort_values(["date", "column"], kind="stable")


def compare_frames(check: str, pair: str, full: pd.DataFrame, cut: pd.DataFrame) -> FrameComparison:
    """Compare a full run's analysed frame with a cut run's, candle by candle."""
    cells = differing_cells(full, cut)
    cut_end = cut["date"].max()
    full_positions = full.index.get_indexer(cut.index)
    index_aligned = bool(
        (full_positions >= 0).all()
        and (full["date"].to_numpy()[full_positions] == cut["date"].to_numpy()).all()
    )
    plain_columns = [
        c for c in cut.columns if not str(c).startswith(FEATURE_PREFIX) and c != "date"
    ]
    full_end = full.loc[full["date"] == cut_end, [c for c in plain_columns if c in full.columns]]
    cut_end_row = cut.loc[cut["date"] == cut_end, plain_columns]
    differences = [
        CellDifference(_iso(row.date), str(row.column), _plain(row.full), _plain(row.cut))
        for row in cells.head(MAX_REPORTED_DIFFERENCES).itertuples(index=False)
    ]
    return FrameComparison(
        check=check,
        pair=pair,
        cut_end=_iso(cut_end),
        rows_compared=len(cut),
        columns_compared=[str(c) for c in cut.columns if c in full.columns and c != "date"],
        index_aligned=index_aligned,
        n_differences=len(cells),
        n_differences_before_end=int((cells["date"] < cut_end).sum()),
        differences=differences,
        end_row_full={str(k): _plain(v) for k, v in full_end.iloc[-1].items()}
        if len(full_end)
        else {},
        end_row_cut={str(k): _plain(v) for k, v in cut_end_row.iloc[-1].items()},
        columns_only_in_full=sorted(str(c) for c in full.columns if c not in cut.columns),
        columns_only_in_cut=sorted(str(c) for c in cut.columns if c not in full.columns),
    )


def unexplained_differences(
    comparison: FrameComparison, allowed_at_cut_end: Collection[str]
) -> list[CellDifference]:
    """Differences the half-open FreqAI window cannot explain: every difference on a candle
    before the cut's last one, and those on the last candle outside ``allowed_at_cut_end``
    (FreqAI's outputs and the columns the strategy derives from them)."""
    return [
        d
        for d in comparison.differences
        if d.date < comparison.cut_end
        or (d.date == comparison.cut_end and d.column not in allowed_at_cut_end)
    ]


class RecordingLookaheadAnalysis(LookaheadAnalysis):
    """Freqtrade's ``LookaheadAnalysis`` that also keeps a row-level comparison per cut run."""

    def __init__(self, config: dict[str, Any], strategy_obj: dict[str, Any]) -> None:
        super().__init__(config, strategy_obj)
        self.comparisons: list[FrameComparison] = []

    def analyze_indicators(
        self, full_vars: VarHolder, cut_vars: VarHolder, current_pair: str
    ) -> None:
        super().analyze_indicators(full_vars, cut_vars, current_pair)
        kind = "entry" if any(cut_vars is v for v in self.entry_varHolders) else "exit"
        self.comparisons.append(
            compare_frames(
                f"lookahead-{kind}",
                current_pair,
                full_vars.indicators[current_pair],
                cut_vars.indicators[current_pair],
            )
        )
        # Each cut run is compared once; its frames are not needed again.
        cut_vars.indicators = {}
        cut_vars.data = {}


class RecordingRecursiveAnalysis(RecursiveAnalysis):
    """Freqtrade's ``RecursiveAnalysis`` that also keeps the row-level comparison of its
    indicator-only lookahead check and the indicators that check flags."""

    def __init__(self, config: dict[str, Any], strategy_obj: dict[str, Any]) -> None:
        super().__init__(config, strategy_obj)
        self.comparisons: list[FrameComparison] = []
        self.flagged_lookahead: list[str] = []

    def analyze_indicators_lookahead(self) -> None:
        super().analyze_indicators_lookahead()
        pair = self.pair_to_used
        part = self.partial_varHolder_lookahead_array[0]
        full = self.full_varHolder.indicators[pair]
        cut = part.indicators[pair]
        # The exact rule Freqtrade uses to log "found lookahead in indicator …".
        last = cut.iloc[-1]
        base = full.loc[full["date"] == last["date"]].iloc[-1]
        self.flagged_lookahead = [str(i) for i in base.compare(last).index]
        self.comparisons.append(compare_frames("recursive-lookahead", pair, full, cut))


@dataclass
class LeakageReport:
    command: str
    strategy: str
    comparisons: list[FrameComparison]
    total_signals: int | None = None
    false_entry_signals: int | None = None
    false_exit_signals: int | None = None
    false_indicators: list[str] = field(default_factory=list)
    has_bias: bool | None = None
    flagged_lookahead: list[str] = field(default_factory=list)
    recursive_variance: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> LeakageReport:
        data = json.loads(text)
        data["comparisons"] = [FrameComparison.from_dict(c) for c in data["comparisons"]]
        return cls(**data)


def _report_from(command: str, analysis: Any) -> LeakageReport:
    report = LeakageReport(
        command, str(analysis.local_config["strategy"]), list(analysis.comparisons)
    )
    if isinstance(analysis, RecordingLookaheadAnalysis):
        result = analysis.current_analysis
        report.total_signals = int(result.total_signals)
        report.false_entry_signals = int(result.false_entry_signals)
        report.false_exit_signals = int(result.false_exit_signals)
        report.false_indicators = [str(c) for c in result.false_indicators]
        report.has_bias = bool(result.has_bias)
    if isinstance(analysis, RecordingRecursiveAnalysis):
        report.flagged_lookahead = list(analysis.flagged_lookahead)
        report.recursive_variance = {
            str(ind): {str(k): _plain(v) for k, v in values.items()}
            for ind, values in analysis.dict_recursive.items()
        }
    return report


def models_folder(config: dict[str, Any]) -> Path | None:
    """The folder Freqtrade's analyses delete: ``<user_data_dir>/models/<freqai identifier>``."""
    freqai = config.get("freqai") or {}
    if "identifier" not in freqai:
        return None
    return (Path(config["user_data_dir"]) / "models" / str(freqai["identifier"])).resolve()


def check_models_folder_is_scratch(config: dict[str, Any]) -> None:
    folder = models_folder(config)
    if folder is not None and folder.exists() and not (folder / SCRATCH_MARKER).exists():
        raise SystemExit(
            f"tribar.leakage: Freqtrade's analysis would delete {folder}, which holds models this "
            "tool did not create. Use a scratch identifier, e.g. "
            "FREQTRADE__FREQAI__IDENTIFIER=tribar-leakcheck, or a separate --userdir."
        )


def _install_markets(config_paths: Sequence[str]) -> None:
    from tribar.freqtrade_patches import install_offline_markets
    from tribar.ftcli import markets_file_from_config
    from tribar.markets import BUNDLED_SNAPSHOT, load_snapshot

    path = (
        os.environ.get("TRIBAR_MARKETS_FILE")
        or markets_file_from_config(config_paths)
        or str(BUNDLED_SNAPSHOT)
    )
    install_offline_markets(load_snapshot(path))


def run_analysis(
    command: str, freqtrade_args: Sequence[str], keep_features: bool = False
) -> LeakageReport:
    """Run Freqtrade's ``lookahead-analysis`` or ``recursive-analysis`` (offline, markets from the
    snapshot) with the recording subclasses; ``freqtrade_args`` as on Freqtrade's command line."""
    from freqtrade.commands import Arguments
    from freqtrade.configuration import setup_utils_configuration
    from freqtrade.enums import RunMode
    from freqtrade.optimize.analysis.lookahead_helpers import LookaheadAnalysisSubFunctions
    from freqtrade.optimize.analysis.recursive_helpers import RecursiveAnalysisSubFunctions
    from freqtrade.resolvers import StrategyResolver
    from freqtrade.util import get_progress_tracker

    analyses: dict[str, tuple[Any, type[Any]]] = {
        "lookahead-analysis": (LookaheadAnalysisSubFunctions, RecordingLookaheadAnalysis),
        "recursive-analysis": (RecursiveAnalysisSubFunctions, RecordingRecursiveAnalysis),
    }
    if command not in analyses:
        raise ValueError(f"command must be one of {sorted(analyses)}, got {command!r}")
    helpers, recorder = analyses[command]
    args = Arguments([command, *freqtrade_args]).get_parsed_arg()
    _install_markets(list(args.get("config") or []))
    config = setup_utils_configuration(args, RunMode.UTIL_NO_EXCHANGE)
    check_models_folder_is_scratch(config)
    config = helpers.calculate_config_overrides(config)
    name = config.get("strategy")
    objs = StrategyResolver.search_all_objects(
        config, enum_failed=False, recursive=config.get("recursive_strategy_search", False)
    )
    strategy_obj = next((o for o in objs if o["name"] == name), None)
    if strategy_obj is None:
        raise SystemExit(f"tribar.leakage: strategy {name!r} not found")
    analysis = recorder(config, strategy_obj)
    with (
        keep_freqai_features() if keep_features else _nothing(),
        get_progress_tracker() as progress,
    ):
        analysis.start(progress)
    _print_freqtrade_report(config, analysis)
    folder = models_folder(config)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SCRATCH_MARKER).write_text("created by tribar.leakage; safe to delete\n")
    return _report_from(command, analysis)


def _print_freqtrade_report(config: dict[str, Any], analysis: Any) -> None:
    """Freqtrade's own result table (and CSV export), as its command prints them."""
    from freqtrade.optimize.analysis.lookahead_helpers import LookaheadAnalysisSubFunctions
    from freqtrade.optimize.analysis.recursive_helpers import RecursiveAnalysisSubFunctions

    if isinstance(analysis, RecordingLookaheadAnalysis):
        LookaheadAnalysisSubFunctions.text_table_lookahead_analysis_instances(config, [analysis])
        if config.get("lookahead_analysis_exportfilename") is not None:
            LookaheadAnalysisSubFunctions.export_to_csv(config, [analysis])
    else:
        RecursiveAnalysisSubFunctions.text_table_recursive_analysis_instances([analysis])


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tribar.leakage",
        description="Freqtrade's lookahead-/recursive-analysis with a row-level JSON report. "
        "Arguments after the options go to Freqtrade unchanged.",
    )
    parser.add_argument("command", choices=["lookahead-analysis", "recursive-analysis"])
    parser.add_argument("--report", required=True, type=Path, help="JSON file to write")
    parser.add_argument(
        "--keep-features",
        action="store_true",
        help="compare FreqAI's %%-feature columns too (FreqAI normally drops them)",
    )
    ours, rest = parser.parse_known_args(argv)
    report = run_analysis(ours.command, rest, keep_features=ours.keep_features)
    ours.report.parent.mkdir(parents=True, exist_ok=True)
    ours.report.write_text(report.to_json())
    before = sum(c.n_differences_before_end for c in report.comparisons)
    print(
        f"tribar.leakage: {len(report.comparisons)} full/cut comparisons, "
        f"{sum(c.n_differences for c in report.comparisons)} differing cells, "
        f"{before} before the cut's last candle; report {ours.report}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
