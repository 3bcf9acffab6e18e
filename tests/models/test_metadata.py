"""Metadata encoders and the metadata-conditioned head: exact encodings, errors, imputation, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqlab.models.metadata import ColumnEncoder, MetadataEncoder, MetadataError, parse_date
from seqlab.models.metadata_head import MetadataHead, build_metadata_head, resolve_sizes

RECORDS = [
    {"task": "a", "target": "CTCF", "biosample": "K562", "assay": "ChIP-seq", "lab": "L1", "date": "2020-01-01"},
    {"task": "b", "target": "SPI1", "biosample": "GM12878, K562", "assay": "ChIP-seq", "lab": "L2", "date": "2022"},
    {"task": "c", "target": "CTCF", "biosample": "GM12878", "assay": "DNase-seq", "lab": "L1", "date": "2022-07"},
]


def test_categorical_multi_hot_with_sorted_vocabulary():
    encoder = ColumnEncoder("biosample", "categorical").fit([r["biosample"] for r in RECORDS])
    assert encoder.vocabulary == ["GM12878", "K562"]
    np.testing.assert_array_equal(encoder.encode(["K562", "GM12878, K562", ""]), [[0, 1], [1, 1], [0, 0]])


def test_unseen_value_is_an_error_naming_row_and_column_or_zeros_when_asked():
    encoder = ColumnEncoder("target", "categorical").fit(["CTCF", "SPI1"])
    with pytest.raises(MetadataError, match=r"row 1, column 'target': value 'REST' was never seen"):
        encoder.encode(["CTCF", "REST"])
    lenient = ColumnEncoder("target", "categorical", unknown="zero").fit(["CTCF", "SPI1"])
    np.testing.assert_array_equal(lenient.encode(["REST", "SPI1, REST"]), [[0, 0], [0, 1]])


def test_numeric_z_score_and_bad_value():
    encoder = ColumnEncoder("depth", "numeric").fit(["1", "3"])
    assert (encoder.mean, encoder.sd) == (2.0, 1.0)
    np.testing.assert_allclose(encoder.encode(["5", 2]), [[3.0], [0.0]])
    with pytest.raises(MetadataError, match=r"row 0, column 'depth': 'deep' is not a number"):
        encoder.encode(["deep"])
    constant = ColumnEncoder("depth", "numeric").fit(["4", "4"])
    assert constant.sd == 1.0


def test_dates_year_one_hot_and_numeric():
    assert parse_date("2022-07-01") == (2022, 2022 + 6 * 30.5 / 365)
    years = ColumnEncoder("date", "date").fit([r["date"] for r in RECORDS])
    assert years.vocabulary == ["2020", "2022"]
    np.testing.assert_array_equal(years.encode(["2022-03-04", "2020"]), [[0, 1], [1, 0]])
    with pytest.raises(MetadataError, match=r"row 0, column 'date': date '12/3/2020' is not YYYY"):
        years.encode(["12/3/2020"])
    numeric = ColumnEncoder("date", "date", date_mode="numeric").fit(["2020", "2022"])
    np.testing.assert_allclose(numeric.encode(["2021"]), [[0.0]])


def test_encoder_layout_json_round_trip_and_missing_column():
    encoder = MetadataEncoder({"target": "categorical", "lab": "categorical", "date": "date"}).fit(RECORDS)
    assert encoder.width == 2 + 2 + 2
    assert encoder.slices == {"target": slice(0, 2), "lab": slice(2, 4), "date": slice(4, 6)}
    assert encoder.feature_names() == ["target=CTCF", "target=SPI1", "lab=L1", "lab=L2", "date=2020", "date=2022"]
    again = MetadataEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    np.testing.assert_array_equal(again.encode(RECORDS), encoder.encode(RECORDS))
    np.testing.assert_array_equal(encoder.encode(RECORDS)[1], [0, 1, 0, 1, 0, 1])
    with pytest.raises(MetadataError, match=r"row 0: no metadata column 'lab'"):
        encoder.encode([{"target": "CTCF", "date": "2020"}])


def test_resolve_sizes():
    assert resolve_sizes(None, ["bio", "tech"], 9) == {"bio": 5, "tech": 4}
    assert resolve_sizes({"bio": 6, "tech": 2}, ["bio", "tech"], 8) == {"bio": 6, "tech": 2}
    assert resolve_sizes({"bio": 0.75, "tech": 0.25}, ["bio", "tech"], 10) == {"bio": 8, "tech": 2}
    with pytest.raises(ValueError, match="ratios summing to 1"):
        resolve_sizes({"bio": 3, "tech": 3}, ["bio", "tech"], 8)
    with pytest.raises(ValueError, match="without features"):
        resolve_sizes({"bio": 1.0, "tech": 0.0}, ["bio", "tech"], 8)


def _head(hidden: int = 0) -> MetadataHead:
    data_params = {"task_metadata": RECORDS}
    config = {"sizes": {"biological": 3, "technical": 2}, "hidden": hidden}
    return build_metadata_head(config, 5, data_params)


def test_head_logits_are_the_sum_over_groups_plus_bias():
    torch.manual_seed(0)
    head = _head(hidden=0)
    features = torch.randn(4, 5)
    codes = head.task_codes
    weights = head.group_weights(codes)
    assert weights["biological"].shape == (3, 3) and weights["technical"].shape == (3, 2)
    expected = features[:, :3] @ weights["biological"].T + features[:, 3:] @ weights["technical"].T + head.bias(codes)
    torch.testing.assert_close(head(features), expected)
    parts = head.contributions(features, codes)
    torch.testing.assert_close(parts["technical"], features[:, 3:] @ weights["technical"].T)
    torch.testing.assert_close(parts["biological"] + parts["technical"] + head.bias(codes), expected)
    # biological weights depend on target and biosample only: changing the lab leaves them unchanged
    other_lab = [{**RECORDS[0], "lab": "L2"}]
    torch.testing.assert_close(
        head.group_weights(head.encode_metadata(other_lab))["biological"], weights["biological"][:1]
    )


def test_head_imputes_an_unseen_combination_and_rejects_unseen_values():
    torch.manual_seed(0)
    head = _head(hidden=8)
    features = torch.randn(6, 5)
    new_row = {"target": "SPI1", "biosample": "GM12878", "assay": "DNase-seq", "lab": "L1", "date": "2020"}
    assert head.logits_for(features, head.encode_metadata([new_row])).shape == (6, 1)
    # a training experiment's metadata gives exactly its column of forward()
    torch.testing.assert_close(head.logits_for(features, head.encode_metadata(RECORDS[2:])), head(features)[:, 2:])
    with pytest.raises(MetadataError, match=r"column 'biosample': value 'HepG2' was never seen"):
        head.encode_metadata([{**new_row, "biosample": "HepG2"}])


def test_head_state_dict_carries_the_vocabularies():
    torch.manual_seed(0)
    head = _head()
    state = head.state_dict()
    description = json.loads(bytes(state["description"].numpy().tobytes()))
    assert state["description"].dtype == torch.uint8
    assert description["encoder"]["columns"][0]["vocabulary"] == ["CTCF", "SPI1"]
    rebuilt = _head()
    rebuilt.load_state_dict(state)
    features = torch.randn(2, 5)
    torch.testing.assert_close(rebuilt(features), head(features))
    other = build_metadata_head(
        {"sizes": {"biological": 3, "technical": 2}, "hidden": 0}, 5, {"task_metadata": RECORDS[:2]}
    )
    with pytest.raises(MetadataError, match="differ from those rebuilt"):
        other.load_state_dict(state)


def test_from_config_matches_build_metadata_head():
    config = {"kind": "metadata", "sizes": {"biological": 3, "technical": 2}, "hidden": 0}
    head = MetadataHead.from_config(config, 5, {"task_metadata": RECORDS})
    assert head.sizes == {"biological": 3, "technical": 2} and head.n_tasks == 3


def test_head_config_errors():
    with pytest.raises(ValueError, match="column 'organ' is not in model.head.columns"):
        build_metadata_head({"groups": {"biological": ["organ"]}}, 4, {"task_metadata": RECORDS})
    with pytest.raises(MetadataError, match="task metadata"):
        build_metadata_head({}, 4, {"task_metadata": []})
