"""Workflows above the pipeline's building blocks.

``lift`` (``seqlab ssl lift``: homolog tables and reports).
"""
