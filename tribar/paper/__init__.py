"""Paper trading without an exchange: a real ``freqtrade trade`` dry-run fed from history."""
