"""Champion/challenger, registry, fallback and restart inside real FreqAI trainings."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.lifecycle.conftest import (
    PAIR,
    new_freqai,
    predict,
    registry,
    train,
    window,
)
from tribar.ml.barrier_classifier import BarrierClassifier
from tribar.ml.model_metrics import METRICS_FILE


def _served_version(trained: Any) -> int:
    assert isinstance(trained.model, BarrierClassifier)
    return int(trained.model.metrics["registry_version"])


def test_a_candidate_trained_on_shuffled_labels_is_rejected_and_the_incumbent_serves(
    config: dict[str, Any], series: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    first = train(config, window(series, 0))
    assert _served_version(first) == 1
    sent: list[str] = []

    class Provider:  # FreqAI sets data_provider in start(); the strategy's dp sends
        def send_msg(self, message: str, *, always_send: bool = False) -> None:
            sent.append(message)

    freqai = new_freqai(config)
    freqai.data_provider = Provider()
    with caplog.at_level(logging.WARNING):
        second = train(config, window(series, 1, shuffle_training_labels=True), freqai)

    state = registry(config).load(PAIR)
    v1, v2 = state["versions"]
    assert (v1["status"], v2["status"], state["serving"]) == ("serving", "rejected", 1)
    decision = v2["decision"]
    assert not decision["accepted"] and decision["incumbent_version"] == 1
    # Both models scored on the same rows after the incumbent's training window.
    shared_c, shared_i = decision["candidate_shared"], decision["incumbent_shared"]
    assert shared_c["rows"] == shared_i["rows"] >= 100
    assert shared_i["auc"] > shared_c["auc"] + 0.1
    assert any("worse than v1's" in r for r in decision["reasons"])
    # FreqAI serves (and saved under the new training's folder) the incumbent.
    assert _served_version(second) == 1
    assert second.model.booster is not None
    saved = json.loads((second.dk.data_path / METRICS_FILE).read_text())
    assert saved["challenger"]["accepted"] is False and saved["serving_version"] == 1
    assert any("rejected" in m and "v1" in m and "keeps serving" in m for m in sent), sent
    assert any("keeps serving" in r.getMessage() for r in caplog.records)

    # A restarted bot loads from disk and predicts what v1 predicts on the same rows.
    rows = window(series, 1).tail(300)
    restarted = new_freqai(config)
    p_served = predict(restarted, rows)
    incumbent = registry(config).load_artifacts(PAIR, 1)
    x, _, _ = incumbent.feature_pipeline.transform(
        rows[incumbent.metadata["training_features_list"]].reset_index(drop=True)
    )
    np.testing.assert_allclose(p_served.to_numpy(), incumbent.model.predict_proba(x)[:, 1])
    assert p_served.std() > 0.05  # v1's calibrated odds, not the rejected one's flat rate


def test_a_good_candidate_replaces_the_incumbent(
    config: dict[str, Any], series: pd.DataFrame
) -> None:
    train(config, window(series, 0))
    second = train(config, window(series, 1))
    state = registry(config).load(PAIR)
    assert [e["status"] for e in state["versions"]] == ["retired", "serving"]
    assert state["serving"] == 2 and _served_version(second) == 2
    assert state["versions"][1]["decision"]["accepted"] is True


def test_with_the_gate_off_the_candidate_serves_and_the_verdict_is_recorded(
    config: dict[str, Any], series: pd.DataFrame
) -> None:
    config["freqai"]["tribar"]["challenger"]["enabled"] = False
    train(config, window(series, 0))
    second = train(config, window(series, 1, shuffle_training_labels=True))
    decision = registry(config).load(PAIR)["versions"][1]["decision"]
    assert decision["accepted"] is True and decision["would_accept"] is False
    assert _served_version(second) == 2


def test_overfitting_gap_is_recorded_and_warned(
    config: dict[str, Any], series: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    # Deep unregularised trees memorise the training block.
    config["freqai"]["model_training_parameters"].update(
        {"num_leaves": 63, "min_child_samples": 5, "reg_lambda": 0.0, "n_estimators": 300}
    )
    with caplog.at_level(logging.WARNING):
        train(config, window(series, 0, shuffle_training_labels=True))
    entry = registry(config).load(PAIR)["versions"][0]
    gap = entry["overfitting"]
    assert gap["in_sample"]["auc"] == entry["metrics"]["in_sample"]["auc"]
    assert gap["auc_gap"] == pytest.approx(
        (gap["in_sample"]["auc"] - gap["out_of_sample"]["auc"]) / gap["in_sample"]["auc"]
    )
    assert gap["auc_gap"] > 0.10 and gap["warning"] is True
    assert any("overfitting" in r.getMessage() for r in caplog.records)


def test_a_corrupt_model_file_falls_back_to_the_last_good_version(
    config: dict[str, Any], series: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    train(config, window(series, 0))
    second = train(config, window(series, 1))
    rows = window(series, 1).tail(200)
    expected = predict(new_freqai(config), rows)

    model_file = second.dk.data_path / f"{second.dk.model_filename}_model.joblib"
    model_file.write_bytes(b"not a pickle")
    with caplog.at_level(logging.WARNING):
        p = predict(new_freqai(config), rows)
    np.testing.assert_allclose(p.to_numpy(), expected.to_numpy())  # the registry's copy of v2
    assert any("unreadable" in r.getMessage() and "falling back" in r.getMessage()
               for r in caplog.records)  # fmt: skip

    # v2's registry copy damaged too: v1, the newest earlier version that served.
    (registry(config).version_dir(PAIR, 2) / "model.joblib").write_bytes(b"")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        p1 = predict(new_freqai(config), rows)
    assert any("serving registry v1" in r.getMessage() for r in caplog.records)
    assert p1.notna().all() and not np.allclose(p1.to_numpy(), expected.to_numpy())

    # Nothing readable: NaN (no entries), no exception.
    (registry(config).version_dir(PAIR, 1) / "model.joblib").unlink()
    p0 = predict(new_freqai(config), rows)
    assert p0.isna().all()


def test_the_registry_survives_a_restart(config: dict[str, Any], series: pd.DataFrame) -> None:
    train(config, window(series, 0))
    train(config, window(series, 1, shuffle_training_labels=True))
    before = registry(config).load(PAIR)
    # A new process: new registry object, new FreqAI model object reading the same folder.
    after = registry(config).load(PAIR)
    assert after == before
    third = train(config, window(series, 2), new_freqai(config))
    state = registry(config).load(PAIR)
    assert [e["version"] for e in state["versions"]] == [1, 2, 3]
    # The restarted bot's incumbent was v1 (v2 was rejected), so v3 was compared with v1.
    assert state["versions"][2]["decision"]["incumbent_version"] == 1
    assert _served_version(third) == 3


def test_old_versions_lose_their_files_by_the_keep_policy(
    config: dict[str, Any], series: pd.DataFrame
) -> None:
    config["freqai"]["tribar"]["challenger"]["keep_versions"] = 2
    for k in range(4):
        train(config, window(series, k))
    state = registry(config).load(PAIR)
    assert [e["artifacts"] for e in state["versions"]] == [False, False, True, True]
    assert not registry(config).version_dir(PAIR, 1).exists()
    assert registry(config).version_dir(PAIR, 4).is_dir()


def test_a_bad_challenger_setting_is_named(config: dict[str, Any], series: pd.DataFrame) -> None:
    config["freqai"]["tribar"]["challenger"] = {"enabled": True, "min_auc": "high"}
    with pytest.raises(Exception, match=r"freqai\.tribar\.challenger\.min_auc"):
        train(config, window(series, 0))
