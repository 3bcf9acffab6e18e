import pytest

from seqlab.registry import Registry


def test_register_returns_the_object_and_refuses_a_taken_name():
    table = Registry("widget")

    @table.register("a")
    def first():
        return 1

    assert table["a"] is first and first() == 1
    assert table.register("a")(first) is first  # the same object again is fine
    with pytest.raises(ValueError, match="widget 'a' is registered already"):
        table.register("a")(lambda: 2)
    assert dict(table) == {"a": first}


def test_a_source_kind_of_your_own_is_a_config_section_and_a_builder(tmp_path):
    from typing import Literal

    from seqlab.config import DnaRunConfig, load_config
    from seqlab.config.sources import SOURCE_CONFIGS, SourceConfig, register_source_config
    from seqlab.data.sources import SOURCE_BUILDERS, SourceContext, build_source, register_source

    class ShuffledConfig(SourceConfig):
        kind: Literal["shuffled"] = "shuffled"
        n: int = 5

    def build_shuffled(source, config, context):
        return ("built", source.n, config.window_length)

    register_source_config(ShuffledConfig)
    register_source("shuffled")(build_shuffled)
    try:
        path = tmp_path / "run.yaml"
        path.write_text("data:\n  window_length: 50\n  sources:\n    - {kind: shuffled, n: 3}\n    - {kind: lifted}\n")
        data = load_config(path, DnaRunConfig).data
        assert isinstance(data.sources[0], ShuffledConfig) and data.sources[1].kind == "lifted"
        assert build_source(data.sources[0], data, SourceContext()) == ("built", 3, 50)
        assert data.model_dump()["sources"][0] == {"kind": "shuffled", "n": 3}  # the subclass's keys are kept
        path.write_text("data:\n  sources:\n    - {kind: shuffled, m: 3}\n")
        with pytest.raises(ValueError, match=r"data\.sources\.0 \(kind: shuffled\): m: unknown key"):
            load_config(path, DnaRunConfig)
    finally:
        SOURCE_CONFIGS.pop("shuffled")
        SOURCE_BUILDERS.pop("shuffled")
