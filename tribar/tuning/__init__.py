"""Tuning: hyperopt losses (and, later, the model-level study and ``tribar tune``)."""
