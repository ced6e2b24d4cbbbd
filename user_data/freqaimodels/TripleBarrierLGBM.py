"""FreqAI model: LightGBM on triple-barrier labels with Platt (sigmoid) calibration, used only
when the model shows an edge on held-out data (``freqai.tribar.edge_gate_z``); see
tribar.ml.freqai_model for the purged split, early stopping, edge gate and saved metrics."""

from tribar.ml.freqai_model import TripleBarrierClassifierBase


class TripleBarrierLGBM(TripleBarrierClassifierBase):
    calibration_method = "sigmoid"
