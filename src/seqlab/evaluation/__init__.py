"""Metrics over whole splits, plots, prediction and variant effects."""
