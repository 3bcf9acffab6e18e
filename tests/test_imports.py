"""No import cycles inside seqlab: every ``import`` (at module level or inside a function) of one seqlab
module by another is an edge, and the graph has no cycle (a module never imports its own importer)."""

import ast
from pathlib import Path

import seqlab

SRC = Path(seqlab.__file__).parent


def _graph() -> dict[str, set[str]]:
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_module_importing_its_importer():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_seqlab_has_no_import_cycles():
    graph = _graph()
    assert "seqlab.models.trunks" in graph and "seqlab.models.transformer" not in graph["seqlab.models.trunks"]
    assert _cycles(graph) == []


def test_builtins_are_registered_in_one_place():
    from seqlab.data.sources import SOURCE_BUILDERS
    from seqlab.models.heads import HEADS
    from seqlab.models.trunks import TRUNKS

    assert list(TRUNKS) == ["deepbind", "deepsea", "basenji", "transformer", "hf"]
    assert list(HEADS) == ["linear", "metadata", "profile"]
    assert list(SOURCE_BUILDERS) == ["peaks", "tiling", "tracks", "sequences", "lifted"]
    modules = ["models/trunks.py", "models/transformer.py", "models/heads.py", "models/metadata_head.py"]
    modules += ["models/profile_head.py"]
    modules += ["config/model.py", "config/transformer.py", "config/mfd.py", "config/data.py", "config/lift.py"]
    modules += [f"data/sources/{kind}.py" for kind in ("peaks", "tiling", "tracks", "sequences", "lifted")]
    for module in modules:
        text = (SRC / module).read_text()
        assert "@register_" not in text and "register_source(" not in text, module
