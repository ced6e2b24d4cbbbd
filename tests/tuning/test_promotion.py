"""The weekly tune's promotion gate and its parameter files, history and rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tribar.tuning.promotion import (
    HistoryEntry,
    ParameterSet,
    PromotionRule,
    TunePaths,
    WindowResult,
    current_parameter_set,
    decide_promotion,
    history,
    promote,
    promotion_rule_from_config,
    record,
    rollback,
    write_json_atomically,
)

RULE = PromotionRule()
CURRENT_OOS = WindowResult(sharpe=0.4, max_drawdown=0.08, trades=30, total_return=0.02)


def test_a_candidate_better_in_sample_only_is_rejected() -> None:
    # In-sample it looked far better (what hyperopt optimised); on the held-back window it is not.
    candidate_oos = WindowResult(sharpe=0.35, max_drawdown=0.07, trades=40, total_return=0.015)
    decision = decide_promotion(CURRENT_OOS, candidate_oos, RULE)
    assert not decision.promote
    assert "gain -0.05 < 0.10" in decision.reason


def test_a_candidate_better_out_of_sample_is_promoted() -> None:
    candidate_oos = WindowResult(sharpe=0.9, max_drawdown=0.09, trades=35, total_return=0.05)
    decision = decide_promotion(CURRENT_OOS, candidate_oos, RULE)
    assert decision.promote, decision.reason
    assert "+0.50" in decision.reason


def test_too_few_trades_or_a_deeper_drawdown_is_no_evidence() -> None:
    few = WindowResult(sharpe=3.0, max_drawdown=0.01, trades=9, total_return=0.1)
    assert "9 trades" in decide_promotion(CURRENT_OOS, few, RULE).reason
    deep = WindowResult(sharpe=1.0, max_drawdown=0.20, trades=30, total_return=0.1)
    decision = decide_promotion(CURRENT_OOS, deep, RULE)
    assert not decision.promote and "deeper" in decision.reason


def test_a_flat_current_set_counts_as_sharpe_zero() -> None:
    flat = WindowResult(sharpe=float("nan"), max_drawdown=0.0, trades=0, total_return=0.0)
    good = WindowResult(sharpe=0.5, max_drawdown=0.04, trades=12, total_return=0.02)
    assert decide_promotion(flat, good, RULE).promote


@given(
    cur=st.floats(-3, 3), cand=st.floats(-3, 3), trades=st.integers(0, 100),
    dd_cur=st.floats(0, 0.5), dd_cand=st.floats(0, 0.5),
)  # fmt: skip
def test_promotion_implies_every_condition(
    cur: float, cand: float, trades: int, dd_cur: float, dd_cand: float
) -> None:
    decision = decide_promotion(
        WindowResult(cur, dd_cur, 20, 0.0), WindowResult(cand, dd_cand, trades, 0.0), RULE
    )
    if decision.promote:
        assert trades >= RULE.min_trades
        assert cand - cur >= RULE.min_sharpe_gain
        assert dd_cand - dd_cur <= RULE.max_drawdown_worsening


def test_rule_keys_are_checked_with_their_name() -> None:
    assert promotion_rule_from_config({}) == PromotionRule()
    with pytest.raises(ValueError, match=r"tribar\.tune\.promotion\.min_trades"):
        promotion_rule_from_config({"tribar": {"tune": {"promotion": {"min_trades": 0}}}})
    with pytest.raises(ValueError, match=r"tribar\.tune\.promotion\.typo"):
        promotion_rule_from_config({"tribar": {"tune": {"promotion": {"typo": 1}}}})


def _paths(tmp_path: Path) -> TunePaths:
    return TunePaths(
        strategy_file=tmp_path / "strategies" / "TripleBarrierML.json",
        overlay_file=tmp_path / "tuning" / "tuned-config.json",
        history_dir=tmp_path / "tuning" / "history",
    )


def _set(k_tp: float, leaves: int) -> ParameterSet:
    return ParameterSet(
        {"buy": {"k_tp": k_tp}},
        {"freqai": {"model_training_parameters": {"num_leaves": leaves}}},
    )


def test_promotions_are_recorded_and_rolled_back_in_order(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    assert current_parameter_set(paths) is None  # shipped defaults: no files
    promote(paths, HistoryEntry("20261101T000000Z", "promoted", "first", {}, _set(3.5, 31)))
    params = json.loads(paths.strategy_file.read_text())
    # Freqtrade's parameter-file layout, read next to the strategy at start and reload.
    assert params["strategy_name"] == "TripleBarrierML"
    assert params["params"] == {"buy": {"k_tp": 3.5}}
    record(paths, HistoryEntry("20261108T000000Z", "rejected", "no gain", {}, _set(9.0, 2)))
    promote(paths, HistoryEntry("20261115T000000Z", "promoted", "second", {}, _set(4.0, 15)))
    assert [e.action for e in history(paths)] == ["baseline", "promoted", "rejected", "promoted"]

    back = rollback(paths)
    assert back.reason == "back to 20261101T000000Z"
    assert current_parameter_set(paths) == _set(3.5, 31)
    # Rolling the first promotion back restores the shipped defaults (empty files).
    rollback(paths, to=history(paths)[0].stamp)
    assert current_parameter_set(paths) == ParameterSet({}, {})
    with pytest.raises(ValueError, match="rejected, never in service"):
        rollback(paths, to="20261108T000000Z")
    with pytest.raises(ValueError, match="no tune history entry"):
        rollback(paths, to="19990101T000000Z")


def test_nothing_to_roll_back_to_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to roll back to"):
        rollback(_paths(tmp_path))


def test_an_atomic_write_leaves_the_old_file_when_it_fails(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    write_json_atomically(target, {"a": 1})
    circular: dict[str, object] = {}
    circular["self"] = circular
    with pytest.raises(ValueError, match="Circular"):
        write_json_atomically(target, circular)
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # no temporary file left


def test_a_corrupt_parameter_file_is_named(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    paths.strategy_file.parent.mkdir(parents=True)
    paths.strategy_file.write_text("{not json")
    with pytest.raises(ValueError, match=r"strategy parameter file .*TripleBarrierML\.json"):
        current_parameter_set(paths)
