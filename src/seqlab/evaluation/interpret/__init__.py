"""Interpretation of DNA models: in-silico mutagenesis, attributions, motif discovery and matching, logos.

Functions over any ``torch.nn.Module`` mapping one-hot float32 (B, 4, L) to logits (B, T), tensors in and
out (tangermeme's style). One module per verb:

* :mod:`.shuffle` -- exact dinucleotide shuffles (the DeepLIFT/SHAP references);
* :mod:`.ism` -- in-silico saturation mutagenesis (every position x 3 alternatives, batched);
* :mod:`.first_conv` -- ISM's fast path: each mutant's first convolution patched from its reference;
* :mod:`.attributions` -- gradient x input, integrated gradients (captum), DeepLIFT/SHAP and their
  hypothetical contributions; the subspace wrapper of MFD models;
* :mod:`.deeplift` -- DeepLIFT's multipliers (captum's rescale and max-pooling rules, written for speed);
* :mod:`.motifs` -- TF-MoDISco (modisco-lite) on the attributions, Tomtom (memelite) against JASPAR;
* :mod:`.report` -- ``interpret_windows``: attributions streamed to disk, motifs.tsv, logos, report.md.
"""
