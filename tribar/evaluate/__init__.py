"""``tribar evaluate``: walk-forward FreqAI backtests of the strategy and its baselines on one
standard setup, OOS calibration of the model, statistics with their uncertainty, and the
``docs/results.md`` report.

Modules: ``setup`` (the run setup and the Freqtrade configs built from it), ``variants`` (the
designs tried), ``runner`` (Freqtrade backtests as subprocesses), ``equity`` (daily equity and
statistics from a result file), ``oos`` (out-of-sample AUC and calibration from FreqAI's saved
predictions), ``baselines`` (buy-and-hold), ``report`` (markdown), ``cli``.
"""
