"""`tribar features` on the models of a real walk-forward backtest, and a second backtest that
trains on the selected features only (FreqAI saves and predicts with the narrowed list)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.foundation.ftrun import REPO_ROOT, run_tribar
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.ml.shap_importance import generic_feature_name, read_selected_features

pytestmark = pytest.mark.freqtrade

PAIRS = ("BTC/USDT", "SOL/USDT")


def _backtest(userdir: Path, identifier: str, env: dict[str, str] | None = None) -> str:
    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "--strategy", "TripleBarrierML",
        "--userdir", str(userdir), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        "--datadir", str(REPO_ROOT / "user_data" / "data" / "binance"),
        "--timerange", "20250801-20250815", "--pairs", *PAIRS, "--cache", "none",
        env={"FREQTRADE__FREQAI__IDENTIFIER": identifier, **(env or {})}, timeout=900,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "BACKTESTING REPORT" in output
    return output


def _trained_feature_lists(models: Path) -> dict[str, list[str]]:
    lists = {}
    for metadata in sorted(models.glob("sub-train-*/*_metadata.json")):
        pair = json.loads((metadata.parent / "tribar_metrics.json").read_text())["pair"]
        lists[f"{pair} {metadata.parent.name}"] = json.loads(metadata.read_text())[
            "training_features_list"
        ]
    return lists


def test_features_selects_from_real_models_and_the_next_training_honours_it(
    tmp_path: Path,
) -> None:
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    _backtest(userdir, "feat-all")
    all_models = userdir / "models" / "feat-all"
    full_lists = _trained_feature_lists(all_models)
    assert {k.split()[0] for k in full_lists} == set(PAIRS)

    out = tmp_path / "selected_features.json"
    result = run_tribar(
        "features", "--models", str(all_models), "--out", str(out),
        "--plots-dir", str(tmp_path / "plots"),
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    selection = read_selected_features(out)
    full_width = len(next(iter(full_lists.values())))
    assert 0 < len(selection.features) < full_width
    for png in ("shap_importance_bar.png", "shap_beeswarm.png"):
        assert (tmp_path / "plots" / png).stat().st_size > 10_000
    assert "cover 80% of the importance" in result.stdout

    output = _backtest(
        userdir, "feat-selected",
        {"FREQTRADE__FREQAI__TRIBAR__SELECTED_FEATURES_FILE": str(out)},
    )  # fmt: skip
    assert "features, selected in" in output
    for key, trained in _trained_feature_lists(userdir / "models" / "feat-selected").items():
        pair = key.split()[0]
        assert trained, key
        assert {generic_feature_name(f, pair) for f in trained} <= set(selection.features), key
        assert len(trained) < full_width
