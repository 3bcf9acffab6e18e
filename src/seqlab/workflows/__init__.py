"""Workflows above the pipeline's building blocks.

``lift`` (``seqlab ssl lift``: homolog tables and reports), ``mfd`` (the MFD scheme, imputation, introspection).
"""
