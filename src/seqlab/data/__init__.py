"""From files to examples: windows, labels, negatives, splits, encodings, datasets, audit."""
