"""Bridges to training frameworks (BasicSR's own train.py)."""
