"""Protein wing: pair corpora, BPE tokenizer, RoBERTa/Longformer pre-training and fine-tuning."""
