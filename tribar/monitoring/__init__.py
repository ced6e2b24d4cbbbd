"""Prometheus monitoring of a running tribar bot (metrics, exporter, bot monitor)."""
