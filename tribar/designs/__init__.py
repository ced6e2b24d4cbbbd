"""The second-round designs of TripleBarrierML (issue 15): pooled cross-pair model, slower
horizons, meta-labelling over a primary trend signal. Kept apart from ``tribar.ml`` so the
evaluation's records of the original design stay valid while these change."""
