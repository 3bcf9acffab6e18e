"""Readers and writers of the field's file formats (FASTA, BED/narrowPeak, VCF, task tables, STRING)."""
