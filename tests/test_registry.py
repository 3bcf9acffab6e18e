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
