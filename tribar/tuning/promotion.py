"""The promotion gate of the weekly tune and the files a promotion writes.

A candidate replaces the parameters in service only on out-of-sample evidence: the held-back
most recent window, which neither the model study nor hyperopt ever saw, backtested with the
current and with the candidate parameters. In-sample figures are recorded, never sufficient.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class PromotionRule(BaseModel):
    """``tribar.tune.promotion`` in the config; every key optional."""

    model_config = ConfigDict(extra="forbid")

    # Daily Sharpe (annualised) the candidate must add on the held-back window. Negative
    # accepts a worse candidate: only for testing the promotion path.
    min_sharpe_gain: float = Field(default=0.1, allow_inf_nan=False)
    # Trades the candidate needs on the held-back window: fewer is no evidence.
    min_trades: int = Field(default=10, ge=1)
    # How much deeper (ratio: 0.05 = 5 percentage points) its drawdown may be there.
    max_drawdown_worsening: float = Field(default=0.05, ge=0.0)


def promotion_rule_from_config(config: Mapping[str, Any]) -> PromotionRule:
    raw = ((config.get("tribar") or {}).get("tune") or {}).get("promotion") or {}
    try:
        return PromotionRule.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"tribar.tune.promotion.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors()
        )
        raise ValueError(problems) from exc


@dataclass(frozen=True)
class WindowResult:
    """One backtest's figures on one window."""

    sharpe: float
    max_drawdown: float  # ratio, 0.2 = 20 %
    trades: int
    total_return: float


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def _finite(x: float) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def decide_promotion(
    current_oos: WindowResult, candidate_oos: WindowResult, rule: PromotionRule
) -> PromotionDecision:
    """Promote only if, on the held-back window, the candidate has enough trades, a Sharpe
    higher by at least ``min_sharpe_gain`` and a drawdown at most ``max_drawdown_worsening``
    deeper than the current parameters'. A current set without trades counts as Sharpe 0
    (flat), never as a bar the candidate cannot be measured against."""
    if candidate_oos.trades < rule.min_trades:
        return PromotionDecision(
            False,
            f"candidate made {candidate_oos.trades} trades on the held-back window; "
            f"{rule.min_trades} needed",
        )
    if not _finite(candidate_oos.sharpe):
        return PromotionDecision(False, "candidate's held-back Sharpe is undefined")
    current_sharpe = current_oos.sharpe if _finite(current_oos.sharpe) else 0.0
    gain = candidate_oos.sharpe - current_sharpe
    if gain < rule.min_sharpe_gain:
        return PromotionDecision(
            False,
            f"held-back Sharpe {candidate_oos.sharpe:.2f} vs current {current_sharpe:.2f}: "
            f"gain {gain:.2f} < {rule.min_sharpe_gain:.2f}",
        )
    worsening = candidate_oos.max_drawdown - current_oos.max_drawdown
    if worsening > rule.max_drawdown_worsening:
        return PromotionDecision(
            False,
            f"held-back drawdown {candidate_oos.max_drawdown:.1%} vs current "
            f"{current_oos.max_drawdown:.1%}: {worsening:.1%} deeper > "
            f"{rule.max_drawdown_worsening:.1%}",
        )
    return PromotionDecision(
        True,
        f"held-back Sharpe {candidate_oos.sharpe:.2f} vs current {current_sharpe:.2f} "
        f"(+{gain:.2f}), {candidate_oos.trades} trades, drawdown {candidate_oos.max_drawdown:.1%}",
    )


# --- files -------------------------------------------------------------------------------


def write_json_atomically(path: Path, payload: Any) -> None:
    """Write to a temporary file in the same folder and rename over ``path``: a reader (the
    bot at a reload) sees the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=2, sort_keys=True, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class ParameterSet:
    """What a promotion puts in service: the strategy's parameter file (Freqtrade's format,
    read next to the strategy at start and at /reload_config) and a config overlay with the
    FreqAI model and label settings."""

    strategy_params: dict[str, Any]  # {"buy": {...}}
    config_overlay: dict[str, Any]  # {"freqai": {...}}


@dataclass(frozen=True)
class TunePaths:
    strategy_file: Path  # e.g. strategies/TripleBarrierML.json
    overlay_file: Path  # e.g. user_data/tuning/tuned-config.json
    history_dir: Path  # e.g. user_data/tuning/history
    strategy_name: str = "TripleBarrierML"


def strategy_param_file(strategy_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Freqtrade's parameter-file layout (HyperoptTools.export_params)."""
    return {
        "strategy_name": strategy_name,
        "params": dict(params),
        "ft_stratparam_v": 1,
        "export_time": datetime.now(UTC).isoformat(),
    }


def current_parameter_set(paths: TunePaths) -> ParameterSet | None:
    if not paths.strategy_file.is_file() and not paths.overlay_file.is_file():
        return None
    params: dict[str, Any] = {}
    overlay: dict[str, Any] = {}
    if paths.strategy_file.is_file():
        params = _read_json(paths.strategy_file, "strategy parameter file").get("params", {})
    if paths.overlay_file.is_file():
        overlay = _read_json(paths.overlay_file, "tuned config overlay")
    return ParameterSet(params, overlay)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{what} {path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{what} {path}: expected a JSON object, got {type(data).__name__}")
    return data


def put_in_service(paths: TunePaths, parameters: ParameterSet) -> None:
    write_json_atomically(
        paths.strategy_file, strategy_param_file(paths.strategy_name, parameters.strategy_params)
    )
    write_json_atomically(paths.overlay_file, parameters.config_overlay)


@dataclass(frozen=True)
class HistoryEntry:
    stamp: str  # UTC, sortable: 20261202T151300Z
    # "baseline" (what served before the first promotion), "promoted", "rejected", "rollback"
    action: str
    reason: str
    figures: dict[str, Any]
    parameters: ParameterSet


IN_SERVICE = ("baseline", "promoted", "rollback")
# Sorts before every UTC stamp: the baseline comes first in the history.
BASELINE_STAMP = "0-baseline"


def promote(paths: TunePaths, entry: HistoryEntry) -> None:
    """Put ``entry``'s parameters in service and record it; before the first promotion, what
    served until then (the shipped defaults when no file exists) is recorded as the baseline,
    so the first promotion can be rolled back too."""
    if not any(e.action in IN_SERVICE for e in history(paths)):
        before = current_parameter_set(paths) or ParameterSet({}, {})
        record(
            paths,
            HistoryEntry(
                BASELINE_STAMP, "baseline", "in service before the first promotion", {}, before
            ),
        )
    put_in_service(paths, entry.parameters)
    record(paths, entry)


def record(paths: TunePaths, entry: HistoryEntry) -> Path:
    folder = paths.history_dir / entry.stamp
    # Two runs in the same second cannot happen (the tune lock), a rollback right after a
    # run can: keep both.
    n = 1
    while folder.exists():
        n += 1
        folder = paths.history_dir / f"{entry.stamp}-{n}"
    write_json_atomically(folder / "entry.json", asdict(entry))
    return folder


def history(paths: TunePaths) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    if not paths.history_dir.is_dir():
        return entries
    for folder in sorted(paths.history_dir.iterdir()):
        file = folder / "entry.json"
        if not file.is_file():
            continue
        raw = _read_json(file, "tune history entry")
        params = raw.get("parameters") or {}
        entries.append(
            HistoryEntry(
                stamp=folder.name,
                action=str(raw.get("action")),
                reason=str(raw.get("reason")),
                figures=dict(raw.get("figures") or {}),
                parameters=ParameterSet(
                    dict(params.get("strategy_params") or {}),
                    dict(params.get("config_overlay") or {}),
                ),
            )
        )
    return entries


def utc_stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def rollback(paths: TunePaths, to: str | None = None) -> HistoryEntry:
    """Put the parameters of an earlier promotion back in service.

    ``to``: a history stamp; default the promotion before the one in service (the last
    promoted or rolled-back entry). Recorded as a "rollback" entry."""
    entries = history(paths)
    in_service = [e for e in entries if e.action in IN_SERVICE]
    if to is None:
        if len(in_service) < 2:
            raise ValueError(
                f"nothing to roll back to: {len(in_service)} promotion(s) in {paths.history_dir}"
            )
        target = in_service[-2]
    else:
        matches = [e for e in entries if e.stamp == to]
        if not matches:
            raise ValueError(f"no tune history entry {to!r} in {paths.history_dir}")
        target = matches[0]
        if target.action not in IN_SERVICE:
            raise ValueError(f"entry {to} was {target.action}, never in service")
    put_in_service(paths, target.parameters)
    entry = HistoryEntry(utc_stamp(), "rollback", f"back to {target.stamp}", {}, target.parameters)
    record(paths, entry)
    return entry
