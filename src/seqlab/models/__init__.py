"""Models: trunks that return features and heads that turn features into per-task logits.

Importing the package registers the built-in trunks and heads (:mod:`seqlab.models.builtin`).
"""

from seqlab.models import builtin  # noqa: F401  (fills the trunk and head registries)
