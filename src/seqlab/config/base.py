"""Config machinery: the strict base model, YAML loading, ``--set`` overrides, path resolution, dumps and
the generated key reference. Every section of every config subclasses :class:`StrictModel`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

__all__ = [
    "ConfigError",
    "StrictModel",
    "apply_overrides",
    "config_reference",
    "dump_config",
    "load_config",
    "resolve_paths",
    "validate_config",
]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def _parse_scalar(text: str) -> Any:
    """Parse an override value as YAML so that numbers, booleans, lists and null keep their types."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides to a nested dict (in place) and return it.

    Values are parsed as YAML (``3`` -> int, ``[chr1, chr2]`` -> list). A number addresses an entry of a
    list (``data.sources.0.subsample.seed=1``). Intermediate sections are created when missing;
    validation later rejects keys that do not exist.

    Raises:
        ConfigError: a malformed override, a value addressed as a section, or a list index that is not
            a number or out of range (one line naming the override).
    """
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key.sub=value")
        dotted, value = item.split("=", 1)
        keys = [k for k in dotted.strip().split(".") if k]
        if not keys:
            raise ConfigError(f"override {item!r} has an empty key")
        node: Any = raw
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            where = ".".join(keys[:depth]) or "the config"
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ConfigError(
                        f"override {item!r}: {where} is a list of {len(node)} entries; give an index 0-{len(node) - 1}"
                        if node else f"override {item!r}: {where} is an empty list"
                    )  # fmt: skip
                index: int | str = int(key)
            elif isinstance(node, dict):
                index = key
                if not last and node.get(key) is None:
                    if keys[depth + 1].isdigit():
                        raise ConfigError(f"override {item!r}: {'.'.join(keys[: depth + 1])} is not set in the config")
                    node[key] = {}
            else:
                raise ConfigError(f"override {item!r}: {where} is a value, not a section")
            if last:
                node[index] = _parse_scalar(value)
            else:
                node = node[index]
    return raw


def resolve_paths(
    model: BaseModel, base_dir: Path, data_dir: Path | None = None, config_dir: Path | None = None
) -> None:
    """Make every relative ``Path`` field of ``model`` (recursively) absolute.

    Paths resolve against ``data_dir`` when given, else ``base_dir`` (the config's folder). A section with a
    ``root`` path field (a data root) resolves its paths against that root: ``data_dir`` when given, else
    ``root`` itself resolved against ``base_dir``; ``root`` stays None when neither is set. A field marked
    ``json_schema_extra={"config_relative": True}`` always resolves against the config's folder (``config_dir``,
    default ``base_dir``), in nested sections too.
    """
    config_dir = config_dir if config_dir is not None else base_dir
    fields = type(model).model_fields
    if "root" in fields:
        root = data_dir if data_dir is not None else model.root
        if root is not None:
            root = (base_dir / root).resolve()
            model.root = root
            base_dir, data_dir = root, None
    target = data_dir if data_dir is not None else base_dir
    for name, info in fields.items():
        value = getattr(model, name)
        if name == "root" and isinstance(value, Path):
            continue
        if isinstance(value, Path) and not value.is_absolute():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            setattr(model, name, ((config_dir if extra.get("config_relative") else target) / value).resolve())
        elif isinstance(value, BaseModel):
            resolve_paths(value, base_dir, data_dir, config_dir)
        elif isinstance(value, list | dict):
            for item in value.values() if isinstance(value, dict) else value:
                if isinstance(item, BaseModel):
                    resolve_paths(item, base_dir, data_dir, config_dir)


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {where}: unknown key (check its spelling and section)")
        else:
            lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)


def validate_config(
    raw: dict[str, Any], model_cls: type[ConfigT], source: str, base_dir: Path, data_dir: Path | None = None
) -> ConfigT:
    """Validate a raw dict into ``model_cls`` and resolve relative paths (see :func:`resolve_paths`)."""
    try:
        config = model_cls.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None
    resolve_paths(config, base_dir, data_dir)
    return config


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key written twice in one mapping (PyYAML keeps the last).

    Merge keys (``<<: *anchor``) work as in YAML 1.1: the mapping's own keys override merged ones.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"{key_node.start_mark.name}:{line}: key {key!r} appears twice in the same section")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> Any:
    """The YAML document of ``path``; a file that is not UTF-8 YAML is a one-line error naming its line."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(f"{path}:{line}: byte {data[err.start : err.start + 1]!r} is not UTF-8 text") from None
    loader = _UniqueKeyLoader(text)
    loader.name = str(path)  # named in the marks of errors
    try:
        return loader.get_single_data() or {}
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        column = f" (column {mark.column + 1})" if mark is not None else ""
        what = " ".join(part for part in (err.context, err.problem) if part)
        raise ConfigError(f"{where}: not valid YAML: {what}{column}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None
    finally:
        loader.dispose()


def load_config(
    path: str | Path,
    model_cls: type[ConfigT],
    overrides: list[str] | None = None,
    data_dir: str | Path | None = None,
) -> ConfigT:
    """Read a YAML config, apply overrides, validate it and resolve relative paths.

    Args:
        path: YAML file.
        model_cls: the pydantic model of the whole config (e.g. ``DnaRunConfig``).
        overrides: ``key.sub=value`` strings applied after reading, before validation.
        data_dir: folder that relative data paths resolve against (default: the config's folder, or for a
            section with a ``root`` key, that root relative to the config's folder); replaces every root.

    Raises:
        ConfigError: the file is missing or not YAML, or a key is unknown or has a wrong value.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    apply_overrides(raw, overrides or [])
    data_root = Path(data_dir).resolve() if data_dir is not None else None
    return validate_config(raw, model_cls, str(path), path.parent.resolve(), data_root)


def dump_config(config: BaseModel) -> str:
    """Render a config as YAML (paths as strings) for the run folder."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    text = re.sub(r"\b(?:typing|pathlib|seqlab(?:\.\w+)*)\.", "", text).replace("NoneType", "None")
    return text.replace("|", "or").replace("  ", " ")


def _item_sections(annotation: Any) -> tuple[str, list[type[BaseModel]], str | None] | None:
    """Sections of ``list[Section]``, ``dict[str, Section]`` or a list of a discriminated union of sections.

    Returns:
        (key suffix ``[]`` or ``.NAME``, the section classes, the discriminator or None); None otherwise.
    """
    origin, args = get_origin(annotation), get_args(annotation)
    if origin not in (list, dict) or not args:
        return None
    item, discriminator = args[-1], None
    if get_origin(item) is Annotated:
        item, *extras = get_args(item)
        found = [getattr(extra, "discriminator", None) for extra in extras]
        discriminator = next((d for d in found if d), None)
    registered = getattr(item, "registered", None)
    if registered is not None:  # an open registry of sections picked by one key (data.sources[].kind)
        item, discriminator = tuple(registered()), item.registry_key
    members = [m for m in (item if isinstance(item, tuple) else get_args(item) or (item,))
               if isinstance(m, type) and issubclass(m, BaseModel)]  # fmt: skip
    if not members:
        return None
    return ("[]" if origin is list else ".NAME"), members, discriminator


def config_reference(model_cls: type[BaseModel], prefix: str = "", defaults: BaseModel | None = None) -> str:
    """Markdown tables of every key of ``model_cls`` and its sections: type, default, description.

    ``defaults``: the section's default value in its parent (a ``default_factory`` may set other
    values than the section class's own defaults, e.g. a fine-tuning stage's learning rate).
    """
    rows: list[str] = []
    sections: list[tuple[str, type[BaseModel], BaseModel | None]] = []
    for name, field in model_cls.model_fields.items():
        if field.exclude:  # not written to a run's config.yaml, so not a key a config can hold
            continue
        key = f"{prefix}{name}"
        annotation = field.annotation
        nested = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        registered = getattr(nested, "registered", None)
        if registered is not None:  # a section picked from a registry by one key (model.trunk.arch, model.head.kind)
            choice = nested.registry_key
            members = registered()
            names = ", ".join(f"`{m.model_fields[choice].default}`" for m in members)
            rows.append(f"| `{key}.{choice}` | one of {names} | | picks one section below |")
            sections.extend((key, member, None) for member in members)
            continue
        if nested is not None:
            default = getattr(defaults, name) if defaults is not None else field.get_default(call_default_factory=True)
            sections.append((key, nested, default if isinstance(default, BaseModel) else None))
            continue
        if field.discriminator:
            members = get_args(annotation)
            names = ", ".join(f"`{m.model_fields[field.discriminator].default}`" for m in members)
            rows.append(f"| `{key}.{field.discriminator}` | one of {names} | | picks one section below |")
            sections.extend((key, member, None) for member in members)
            continue
        items = _item_sections(annotation)
        if items is not None:
            suffix, members, discriminator = items
            default = None if field.is_required() else field.get_default(call_default_factory=True)
            default = "required" if default is None else TypeAdapter(annotation).dump_python(default, mode="json")
            what = f"{'list' if suffix == '[]' else 'mapping'} of sections"
            if discriminator:
                names = ", ".join(f"`{m.model_fields[discriminator].default}`" for m in members)
                what += f"; each picks one by `{discriminator}`: {names}"
            description = (field.description or "").replace("|", "\\|")
            rows.append(f"| `{key}` | {what} | `{default}` | {description} |")
            sections.extend((f"{key}{suffix}", member, None) for member in members)
            continue
        default = "required" if field.is_required() else field.get_default(call_default_factory=True)
        if defaults is not None:
            default = getattr(defaults, name)
        if isinstance(default, BaseModel):
            default = default.model_dump(mode="json")
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type_name(annotation)} | `{default}` | {description} |")
        optional = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(optional) == 1 and type(None) in get_args(annotation):  # an optional section
            sections.append((key, optional[0], None))
    doc = (model_cls.__doc__ or "").strip().splitlines()[0]
    title = prefix.rstrip(".") or model_cls.__name__
    registry_key = getattr(model_cls, "registry_key", None)  # model.trunk (arch), model.head (kind)
    tags = ("arch", "kind") if prefix.endswith("[].") else (registry_key,) if registry_key else ("arch",)
    for tag in tags:  # one member of a list of typed sections, or of a registry
        if tag in model_cls.model_fields:
            title = f"{title}` with `{tag}: {model_cls.model_fields[tag].default}"
    parts = [f"### `{title}`\n\n{doc}\n"]
    if rows:
        parts.append("| key | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
    for key, nested, nested_defaults in sections:
        parts.append(config_reference(nested, f"{key}.", nested_defaults))
    return "\n".join(parts)
