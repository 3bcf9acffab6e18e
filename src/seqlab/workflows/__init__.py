"""Workflows above the pipeline's building blocks: the MFD scheme, imputation and introspection."""
