"""FreqAI model: LightGBM on triple-barrier labels with isotonic calibration (see
tribar.ml.freqai_model for the purged split, early stopping and saved metrics)."""

from tribar.ml.freqai_model import TripleBarrierClassifierBase


class TripleBarrierLGBM(TripleBarrierClassifierBase):
    calibration_method = "isotonic"
