"""`tribar models list|show|pin|unpin|rollback` (the real console script, as a subprocess) on a
registry written by real trainings, and what a running bot serves afterwards."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import pytest

from tests.foundation.ftrun import run_tribar
from tests.lifecycle.conftest import PAIR, models_dir, new_freqai, predict, registry, train, window


def _models(*args: str) -> str:
    result = run_tribar("models", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_pin_and_rollback_change_what_serves(
    config: dict[str, Any], series: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    train(config, window(series, 0))
    train(config, window(series, 1))
    folder = str(models_dir(config))
    rows = window(series, 1).tail(100)
    bot = new_freqai(config)  # a running bot: its model stays in memory between candles
    p_v2 = predict(bot, rows)

    listed = _models("list", "--models", folder)
    assert PAIR in listed and "v2" in listed
    shown = _models("show", PAIR, "--models", folder)
    assert "v1" in shown and "retired" in shown and "serving" in shown and "AUC gap" in shown

    out = _models("rollback", PAIR, "--models", folder)
    assert "from v2 to v1" in out
    state = registry(config).load(PAIR)
    assert state["serving"] == 1
    assert [e["status"] for e in state["versions"]] == ["serving", "retired"]
    with caplog.at_level(logging.WARNING):
        p_v1 = predict(bot, rows)  # the next candle
    assert any("serving registry v1 (was v2)" in r.getMessage() for r in caplog.records)
    assert not p_v1.equals(p_v2)

    _models("pin", PAIR, "2", "--models", folder)
    assert predict(bot, rows).equals(p_v2)
    # A pinned version keeps serving through the next training, whatever the candidate is.
    third = train(config, window(series, 2))
    state = registry(config).load(PAIR)
    assert state["pinned"] == 2 and state["serving"] == 2
    assert state["versions"][2]["status"] == "rejected"
    assert "v2 is pinned" in state["versions"][2]["decision"]["reasons"]
    assert third.model.metrics["registry_version"] == 2

    _models("unpin", PAIR, "--models", folder)
    fourth = train(config, window(series, 3))
    assert registry(config).load(PAIR)["serving"] == 4
    assert fourth.model.metrics["registry_version"] == 4


def test_cli_errors_name_what_is_wrong(config: dict[str, Any], series: pd.DataFrame) -> None:
    train(config, window(series, 0))
    folder = str(models_dir(config))
    result = run_tribar("models", "pin", PAIR, "9", "--models", folder)
    assert result.returncode == 2 and "no version 9" in result.stderr
    result = run_tribar("models", "rollback", PAIR, "--models", folder)
    assert result.returncode == 2 and "no earlier version" in result.stderr
    result = run_tribar("models", "list", "--models", folder + "-missing")
    assert result.returncode == 2 and "no model registry" in result.stderr
