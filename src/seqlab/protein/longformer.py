"""Convert a trained RoBERTa masked LM into a Longformer masked LM for long inputs.

The recipe of allenai's ``convert_model_to_long.ipynb``:

* every weight is copied (``roberta.*`` -> ``longformer.*``, the LM head as is);
* position embeddings grow from ``max_position_embeddings`` (e.g. 514 = 512 + RoBERTa's offset of 2)
  to ``max_length + 2``: rows 0-1 (the offset, below the first real position) are kept and the
  trained rows 2.. are copied over and over until the new table is full;
* the local attention window (``attention_window``, even, the same in every layer) replaces full
  attention, and each layer's ``query``/``key``/``value`` projections are copied to
  ``query_global``/``key_global``/``value_global`` (used by tokens given global attention).

A token attends to ``attention_window / 2`` tokens on each side, so on inputs of at most
``attention_window / 2 + 1`` tokens (every token sees every other) the converted model gives the
RoBERTa's outputs up to float rounding. Longformer pads inputs to a multiple of the window itself.
Continue pre-training with ``seqlab.protein.pretrain.pretrain`` and ``model_path`` set to the
converted folder (and ``corpus.max_tokens`` up to ``max_length``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoConfig, LongformerForMaskedLM, RobertaForMaskedLM
from transformers import LongformerConfig as HfLongformerConfig

from seqlab.atomic import atomic_dir
from seqlab.protein.config import LongformerConfig
from seqlab.protein.mlm import POSITION_OFFSET
from seqlab.protein.tokenizer import load_tokenizer, save_tokenizer

__all__ = ["convert_to_longformer", "extend_position_embeddings"]

def extend_position_embeddings(weight: torch.Tensor, new_positions: int) -> torch.Tensor:
    """Grow a RoBERTa position table (float (P, H)) to ``new_positions`` rows (float (new_positions, H)).

    Rows ``0..1`` are kept; rows from 2 on repeat the trained rows ``2..P-1`` cyclically.
    """
    old_positions, hidden = weight.shape
    trained = weight[POSITION_OFFSET:]
    new = weight.new_empty((new_positions, hidden))
    new[:POSITION_OFFSET] = weight[:POSITION_OFFSET]
    start = POSITION_OFFSET
    while start < new_positions:
        n = min(len(trained), new_positions - start)
        new[start : start + n] = trained[:n]
        start += n
    return new


def convert_to_longformer(
    model_dir: str | Path,
    out_dir: str | Path,
    config: LongformerConfig | None = None,
) -> Path:
    """Convert a saved ``RobertaForMaskedLM`` (+ its tokenizer) into a ``LongformerForMaskedLM`` folder.

    Args:
        model_dir: ``save_pretrained`` folder of a RoBERTa masked LM with its tokenizer (e.g. the
            ``model/`` folder of a pre-training run).
        out_dir: where the Longformer and the tokenizer (``model_max_length = max_length``) go (written
            beside it and renamed into place; an earlier folder there is replaced only when complete).
        config: ``max_length`` (tokens, special tokens included) and ``attention_window``.

    Returns:
        ``out_dir``, loadable with ``AutoModelForMaskedLM.from_pretrained``.

    Raises:
        FileNotFoundError: ``model_dir`` holds no model or tokenizer.
        ValueError: the model is not a RoBERTa masked LM.
    """
    config = config or LongformerConfig()
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"no saved model at {model_dir} (expected {model_dir / 'config.json'})")
    model_type = AutoConfig.from_pretrained(model_dir).model_type
    if model_type != "roberta":
        raise ValueError(f"{model_dir} holds a {model_type!r} model; a RoBERTa masked LM is needed")
    tokenizer = load_tokenizer(model_dir)
    roberta = RobertaForMaskedLM.from_pretrained(model_dir)
    rc = roberta.config
    long_config = HfLongformerConfig(
        vocab_size=rc.vocab_size,
        hidden_size=rc.hidden_size,
        num_hidden_layers=rc.num_hidden_layers,
        num_attention_heads=rc.num_attention_heads,
        intermediate_size=rc.intermediate_size,
        hidden_act=rc.hidden_act,
        hidden_dropout_prob=rc.hidden_dropout_prob,
        attention_probs_dropout_prob=rc.attention_probs_dropout_prob,
        max_position_embeddings=config.max_length + POSITION_OFFSET,
        type_vocab_size=rc.type_vocab_size,
        initializer_range=rc.initializer_range,
        layer_norm_eps=rc.layer_norm_eps,
        pad_token_id=rc.pad_token_id,
        bos_token_id=rc.bos_token_id,
        eos_token_id=rc.eos_token_id,
        sep_token_id=tokenizer.sep_token_id,
        attention_window=[config.attention_window] * rc.num_hidden_layers,
    )
    state = {}
    for key, value in roberta.state_dict().items():
        if key.startswith("roberta.embeddings.") and key.endswith(("position_ids", "token_type_ids")):
            continue  # buffers, rebuilt by the Longformer
        key = key.replace("roberta.", "longformer.", 1) if key.startswith("roberta.") else key
        if key.endswith("embeddings.position_embeddings.weight"):
            value = extend_position_embeddings(value, long_config.max_position_embeddings)
        state[key] = value
        for name in ("query", "key", "value"):
            if f".attention.self.{name}." in key:
                state[key.replace(f".self.{name}.", f".self.{name}_global.")] = value
    longformer = LongformerForMaskedLM(long_config)
    longformer.load_state_dict(state, strict=True)
    tokenizer.model_max_length = config.max_length
    with atomic_dir(out_dir) as folder:  # complete or absent, never half-written
        longformer.save_pretrained(folder)
        save_tokenizer(tokenizer, folder)
    return out_dir
