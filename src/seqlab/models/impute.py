"""Imputation: a metadata-head model turned into a model of other experiments, given by their metadata.

``impute_model(model, records)`` returns a :class:`~seqlab.models.sequence_model.SequenceModel` that
shares the trunk and the metadata head's parameters but whose outputs are the experiments ``records``
(one metadata row each, e.g. a factor in a biosample where it was never assayed), with data parameters
naming them. Every predict function of seqlab then works on it unchanged (``model.predict``,
``predict_regions``, ``predict_fasta``, ``predict_table``, ``evaluate_table``).

A row may leave out a column that another of its columns determines in the training experiments
(:func:`complete_records`): e.g. a cell line's expression covariates ``GEPC1``..``GEPC8``, which every
training experiment of that ``biosample`` shares, are taken from them, so
``target=CTCF,biosample=HepG2,peak_set=conservative`` is enough to impute CTCF in HepG2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from seqlab.models.data_params import DataParams
from seqlab.models.metadata import MetadataError
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.sequence_model import SequenceModel

__all__ = ["complete_records", "experiment_name", "impute_model"]


def experiment_name(record: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The record's ``task`` value, else its values of ``columns`` joined by '_' (e.g. ``CTCF_K562_LabGC``)."""
    name = str(record.get("task", "") or "").strip()
    if name:
        return name
    return "_".join(str(record[column]).replace(",", "+").replace(" ", "") for column in columns if column in record)


def _determined_by(column: str, key: str, known: Sequence[Mapping[str, Any]]) -> dict[str, str] | None:
    """Map key value -> the one ``column`` value the known rows with that key value have; None if not a function."""
    mapping: dict[str, str] = {}
    for row in known:
        if key not in row or column not in row:
            return None
        value, previous = str(row[column]), mapping.setdefault(str(row[key]), str(row[column]))
        if previous != value:
            return None
    return mapping


def complete_records(
    records: Sequence[Mapping[str, Any]], known: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Fill each record's missing ``columns`` from a given column that determines them in the ``known`` rows.

    Column c is determined by column k when every known row with the same value of k has the same value
    of c (a cell line's covariates by ``biosample``). A missing c is filled from the first of the record's
    own columns (in ``columns`` order) that determines it and whose value occurs in the known rows;
    otherwise it stays missing (encoding it is then an error naming the row and column).

    Args:
        records: metadata rows to complete (not modified).
        known: the training experiments' metadata rows (``model.data_params.task_metadata``).
        columns: the encoder's columns.

    Returns:
        The completed rows (copies).
    """
    out = []
    for record in records:
        row = dict(record)
        for column in columns:
            if column in row:
                continue
            for key in columns:
                mapping = _determined_by(column, key, known) if key in row and key != column else None
                if mapping and str(row[key]) in mapping:
                    row[column] = mapping[str(row[key])]
                    break
        out.append(row)
    return out


def impute_model(model: SequenceModel, records: Sequence[Mapping[str, Any]]) -> SequenceModel:
    """A model predicting the experiments ``records`` from their metadata alone.

    Args:
        model: a trained model with a :class:`MetadataHead`.
        records: one metadata dict per experiment, with every column of the head's encoder (extra keys
            ignored; ``task`` names the output column, else the values joined by '_'), except columns that a
            given column determines in the training experiments (:func:`complete_records`).

    Returns:
        A ``SequenceModel`` giving logits float32 (B, E) for the E records (same trunk and head
        parameters, shared; no config: it is not saved), whose data parameters have ``tasks`` = the
        records' names and ``task_metadata`` = the records.

    Raises:
        ValueError: the model has no metadata head, no records, or two records with the same name.
        MetadataError: a missing column, an unparsable value, or a value never seen in training (unless
            its column encodes unknown values as zeros); the message names the row and column.
    """
    head = model.head
    if not isinstance(head, MetadataHead):
        raise ValueError(
            f"imputation needs a model with a metadata head (model.head.kind: metadata); this one has "
            f"{type(head).__name__}"
        )
    if not records:
        raise MetadataError("no metadata rows to predict")
    names = [experiment_name(record, head.encoder.names) for record in records]  # from the columns given
    records = complete_records(records, model.data_params.task_metadata or [], head.encoder.names)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"metadata rows with the same name {repeated}: give each a distinct 'task'")
    plain = [{key: value for key, value in record.items() if key != "task"} | {"task": name}
             for record, name in zip(records, names, strict=True)]  # fmt: skip
    params = DataParams.from_dict(model.data_params.to_dict() | {"tasks": names, "task_metadata": plain})
    imputed = SequenceModel(model.trunk, head.for_metadata(records), params)
    return imputed.train(model.training)
