"""Models: trunks that return features and heads that turn features into per-task logits."""
