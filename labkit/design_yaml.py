"""Read a design file into values that remember where they came from (file and line).

PyYAML's node API (:func:`yaml.compose`) keeps each node's position; this module turns
that node graph into :class:`Located` values so that every problem found later can be
reported as ``file:line: message``. A Python ``dict`` is wrapped the same way, with a
dotted path (``root.ous[0].name``) standing in for the line.

YAML anchors and aliases let one mapping appear in several places, and even inside itself
(``- &ou {name: A, ous: [*ou]}``): that is how a design file can express a cycle. Such a
cycle is reported, with the line of the alias, instead of recursing forever.

>>> node = parse_text("a: 1\\nb: [x, y]\\n", "d.yaml")
>>> node.value["b"].value[1].value, node.value["b"].value[1].where
('y', 'd.yaml:2')
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Located", "YamlProblem", "parse_text", "wrap_data"]


@dataclass(frozen=True, kw_only=True)
class Located:
    """A YAML/dict value (mapping of str -> Located, list of Located, or scalar) and its place."""

    value: Any
    where: str
    identity: int = 0  # same number = same YAML node (alias) or same Python object
    keys: dict = field(default_factory=dict, compare=False)  # mapping key -> where the key is


@dataclass(frozen=True, kw_only=True)
class YamlProblem:
    """A problem found while reading the file itself (syntax, duplicate key, alias cycle)."""

    where: str
    message: str


class _Cycle(Exception):
    pass


def parse_text(text: str, filename: str) -> Located:
    """Compose ``text`` and return it as :class:`Located` values.

    Raises :class:`ValueError` carrying a list of :class:`YamlProblem` in ``args[1]`` when
    the text is not YAML or contains duplicate keys or alias cycles.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        """Remembers where each alias is used (the composed node only knows its anchor)."""

        def __init__(self, stream):
            super().__init__(stream)
            self.alias_lines: dict[tuple[int, int], int] = {}

        def compose_node(self, parent, index):
            mark = self.peek_event().start_mark if self.check_event(yaml.AliasEvent) else None
            node = super().compose_node(parent, index)
            if mark is not None:
                key = index if isinstance(index, int) else id(index)
                self.alias_lines[(id(parent), key)] = mark.line + 1
            return node

    loader = Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError("bad YAML", [YamlProblem(where=f"{filename}:{line}",
                                                  message=f"not valid YAML: {problem}")]) from None
    finally:
        loader.dispose()
    if node is None:
        return Located(value={}, where=f"{filename}:1")
    problems: list[YamlProblem] = []
    scalars = yaml.SafeLoader("")  # builds each scalar with YAML's own typing rules
    out = _from_node(node, filename, (), problems, (scalars, loader.alias_lines))
    if problems:
        raise ValueError("bad YAML", problems)
    return out


def _from_node(node, filename: str, stack: tuple, problems: list, ctx,
               line: int | None = None) -> Located:
    import yaml

    scalars, alias_lines = ctx
    where = f"{filename}:{line or node.start_mark.line + 1}"
    if id(node) in stack:
        problems.append(YamlProblem(
            where=where,
            message="cycle: this alias names a mapping that contains it "
                    "(an OU listed as its own descendant)"))
        return Located(value=None, where=where, identity=id(node))
    stack = stack + (id(node),)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Located] = {}
        keys: dict[str, str] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            kwhere = f"{filename}:{key_node.start_mark.line + 1}"
            if key in out:
                problems.append(YamlProblem(where=kwhere, message=f"duplicate key {key!r}"))
                continue
            keys[str(key)] = kwhere
            out[str(key)] = _from_node(value_node, filename, stack, problems, ctx,
                                       alias_lines.get((id(node), id(key_node))))
        return Located(value=out, where=where, identity=id(node), keys=keys)
    if isinstance(node, yaml.SequenceNode):
        return Located(value=[_from_node(n, filename, stack, problems, ctx,
                                         alias_lines.get((id(node), i)))
                              for i, n in enumerate(node.value)],
                       where=where, identity=id(node))
    data = scalars.construct_object(node, deep=True)
    return Located(value=data, where=where, identity=id(node))


def wrap_data(data: Any, name: str = "<design>", path: str = "") -> Located:
    """Wrap plain Python data (dicts, lists, scalars) as :class:`Located`, naming dotted paths.

    >>> wrap_data({"root": {"ous": [{"name": "A"}]}}).value["root"].value["ous"].value[0].where
    '<design>:root.ous[0]'
    """
    problems: list[YamlProblem] = []
    out = _wrap(data, name, path, (), problems)
    if problems:
        raise ValueError("bad data", problems)
    return out


def _wrap(data, name, path, stack, problems) -> Located:
    where = f"{name}:{path or '(top)'}"
    if isinstance(data, (dict, list)):
        if id(data) in stack:
            problems.append(YamlProblem(where=where, message="cycle: this value contains itself"))
            return Located(value=None, where=where, identity=id(data))
        stack = stack + (id(data),)
    if isinstance(data, dict):
        paths = {str(k): f"{path}.{k}" if path else str(k) for k in data}
        return Located(value={str(k): _wrap(v, name, paths[str(k)], stack, problems)
                              for k, v in data.items()}, where=where, identity=id(data),
                       keys={k: f"{name}:{p}" for k, p in paths.items()})
    if isinstance(data, list):
        return Located(value=[_wrap(v, name, f"{path}[{i}]", stack, problems)
                              for i, v in enumerate(data)], where=where, identity=id(data))
    return Located(value=data, where=where, identity=0)
