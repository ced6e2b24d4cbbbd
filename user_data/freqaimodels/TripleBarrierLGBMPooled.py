"""FreqAI model: one LightGBM triple-barrier classifier per walk-forward window, trained on the
rows of every whitelisted pair and served to each (Platt calibration, edge gate as
TripleBarrierLGBM); see tribar.designs.pooled_model. Needs the strategy TripleBarrierMLPooled
(the same feature names on every pair)."""

from tribar.designs.pooled_model import PooledTripleBarrierClassifier


class TripleBarrierLGBMPooled(PooledTripleBarrierClassifier):
    calibration_method = "sigmoid"
