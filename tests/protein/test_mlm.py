import pytest
import torch
from pydantic import ValidationError

from seqlab.protein.config import MlmModelConfig, OptimConfig
from seqlab.protein.mlm import MlmCollator, MlmModule, build_mlm_model, evaluate_mlm, model_sizes, warmup_steps
from seqlab.protein.tokenizer import build_residue_tokenizer

TOKENIZER = build_residue_tokenizer()
SPECIAL_IDS = torch.tensor(TOKENIZER.all_special_ids)



def _examples():
    # Lengths 3..40 residues (+2 specials), and one pair with its 4 specials.
    seqs = ["ACDEFGHIKLMNPQRSTVWY" * 2, "MKV", "ACDEFGHIKLMNPQRSTVWYX"]
    examples = [TOKENIZER(s)["input_ids"] for s in seqs]
    examples.append(TOKENIZER("MKVLA", "GHHK")["input_ids"])
    return examples


def test_collator_pads_dynamically_and_masks_only_tokens():
    examples = _examples()
    collate = MlmCollator(TOKENIZER, 0.15, generator=torch.Generator().manual_seed(0))
    batch = collate(examples)
    lengths = [len(e) for e in examples]
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["input_ids"].shape == batch["labels"].shape == (4, max(lengths))
    assert all(t.dtype == torch.int64 for t in batch.values())
    expected_mask = torch.tensor([[1] * n + [0] * (max(lengths) - n) for n in lengths])
    assert torch.equal(batch["attention_mask"], expected_mask)

    originals = torch.tensor([e + [TOKENIZER.pad_token_id] * (max(lengths) - len(e)) for e in examples])
    padding = expected_mask == 0
    special = torch.isin(originals, SPECIAL_IDS)
    selected_total = eligible_total = 0
    outcome = {"mask": 0, "random": 0, "same": 0}
    for _ in range(400):
        batch = collate(examples)
        selected = batch["labels"] != -100
        # Never specials or padding; those positions keep their ids.
        assert not (selected & (special | padding)).any()
        assert torch.equal(batch["input_ids"][special | padding], originals[special | padding])
        assert torch.equal(batch["labels"][selected], originals[selected])
        new = batch["input_ids"][selected]
        old = originals[selected]
        outcome["mask"] += int((new == TOKENIZER.mask_token_id).sum())
        outcome["same"] += int((new == old).sum())
        outcome["random"] += int(((new != old) & (new != TOKENIZER.mask_token_id)).sum())
        # A random replacement is a regular token, never a special one.
        assert not torch.isin(new[new != TOKENIZER.mask_token_id], SPECIAL_IDS).any()
        selected_total += int(selected.sum())
        eligible_total += int((~special & ~padding).sum())
    assert selected_total / eligible_total == pytest.approx(0.15, abs=0.01)
    n = sum(outcome.values())
    regular = len(TOKENIZER) - len(SPECIAL_IDS)  # 21: a random draw keeps the token 1 time in 21
    assert outcome["mask"] / n == pytest.approx(0.8, abs=0.015)
    assert outcome["random"] / n == pytest.approx(0.1 * (regular - 1) / regular, abs=0.01)
    assert outcome["same"] / n == pytest.approx(0.1 + 0.1 / regular, abs=0.01)


def test_collator_masks_at_least_one_token():
    collate = MlmCollator(TOKENIZER, 0.01, generator=torch.Generator().manual_seed(1))
    for _ in range(20):
        batch = collate([TOKENIZER("M")["input_ids"]])
        assert batch["labels"].tolist() == [[-100, TOKENIZER.convert_tokens_to_ids("M"), -100]]


def test_model_sizes_presets_and_overrides():
    assert model_sizes(MlmModelConfig(preset="base")) == {
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    }
    assert model_sizes(MlmModelConfig(preset="tiny", hidden_size=32))["hidden_size"] == 32
    with pytest.raises(ValidationError, match="preset 'custom' needs num_hidden_layers, intermediate_size"):
        MlmModelConfig(preset="custom", hidden_size=32, num_attention_heads=2)
    with pytest.raises(ValueError, match="multiple of model.num_attention_heads"):
        model_sizes(MlmModelConfig(hidden_size=30, num_attention_heads=4))
    model = build_mlm_model(MlmModelConfig(hidden_size=32, max_position_embeddings=130), TOKENIZER)
    config = model.config
    assert (config.vocab_size, config.hidden_size, config.num_hidden_layers) == (26, 32, 2)
    assert (config.pad_token_id, config.bos_token_id, config.eos_token_id) == (1, 0, 2)
    assert config.max_position_embeddings == 130 and config.type_vocab_size == 1


def test_optimizer_groups_and_schedule():
    model = build_mlm_model(MlmModelConfig(hidden_size=32), TOKENIZER)
    optim = OptimConfig(learning_rate=1e-3, warmup_steps=0.1, max_steps=100)
    assert warmup_steps(optim) == 10 and warmup_steps(optim.model_copy(update={"warmup_steps": 7})) == 7
    config = MlmModule(model, optim).configure_optimizers()
    optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    assert config["lr_scheduler"]["interval"] == "step"
    assert isinstance(optimizer, torch.optim.AdamW)
    decay, no_decay = optimizer.param_groups
    assert decay["betas"] == (0.9, 0.98) and decay["eps"] == 1e-6
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.01, 0.0)
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay_names = {names[id(p)] for p in no_decay["params"]}
    assert all(n.endswith("bias") or "LayerNorm" in n or "layer_norm" in n for n in no_decay_names)
    assert "roberta.encoder.layer.0.attention.output.LayerNorm.weight" in no_decay_names
    assert all(p.ndim == 2 for p in decay["params"])
    lrs = []
    for _ in range(100):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == 0.0 and lrs[10] == pytest.approx(1e-3) and lrs[55] == pytest.approx(0.5e-3)
    assert scheduler.get_last_lr()[0] == 0.0


def test_evaluate_mlm_weights_by_masked_tokens():
    torch.manual_seed(0)
    model = build_mlm_model(MlmModelConfig(hidden_size=32), TOKENIZER)
    collate = MlmCollator(TOKENIZER, 0.3, generator=torch.Generator().manual_seed(0))
    batches = [collate(_examples()[:2]), collate(_examples()[2:])]
    result = evaluate_mlm(model, batches)
    model.eval()
    with torch.no_grad():
        losses = [float(model(**b).loss) for b in batches]
    counts = [int((b["labels"] != -100).sum()) for b in batches]
    expected = sum(loss * n for loss, n in zip(losses, counts, strict=True)) / sum(counts)
    assert result["mlm_loss"] == pytest.approx(expected, rel=1e-6)
    assert result["masked_tokens"] == sum(counts)
    assert result["perplexity"] == pytest.approx(torch.tensor(expected).exp().item(), rel=1e-6)
