from pathlib import Path

from seqlab.cli.reference import render_reference

REPO = Path(__file__).resolve().parents[1]


def test_configuration_reference_is_up_to_date():
    # Regenerate with: seqlab config-reference > docs/configuration.md
    assert (REPO / "docs" / "configuration.md").read_text() == render_reference()


def test_reference_lists_every_dna_section_and_model():
    text = render_reference(["dna"])
    for key in (
        "`data.sources[].negatives.ratio`",
        "`data.split.test_chroms`",
        "`train.monitor`",
        "`model.trunk.arch`",
        "`model.head.kind`",
        "`hardware.threads`",
    ):
        assert key in text
    for arch in ("arch: deepbind", "arch: deepsea", "arch: basenji", "kind: peaks", "kind: tiling", "kind: sequences"):
        assert arch in text


def test_reference_shows_the_defaults_a_parent_section_sets():
    # SslConfig.finetune is StageConfig(learning_rate=3e-4), not StageConfig's own 1e-3
    text = render_reference(["dna", "finetune"])
    assert "| `ssl.finetune.learning_rate` | float | `0.0003` |" in text
    assert "| `ssl.pretrain.learning_rate` | float | `0.001` |" in text
    assert "| `optim.max_steps` | int | `500` |" in text.split("## Protein fine-tuning")[1]
