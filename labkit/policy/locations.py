"""Where each part of a JSON policy sits in its text: line and column for every value.

Python's :mod:`json` reads a document but forgets positions, so a validator built on it
could only say *what* is wrong, not *where*. :func:`locate` reads the same text into a tree
of :class:`Node` values that remember their line and column (1-based, counted in characters,
as editors count them), and :class:`JsonSyntaxError` reports malformed JSON at the exact
place :mod:`json` stopped.

JSON itself is RFC 8259 (https://www.rfc-editor.org/rfc/rfc8259); IAM policies are JSON
documents (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html).

>>> node = locate('{"Version": "2012-10-17",\\n "Statement": []}')
>>> node.members["Statement"].line, node.members["Statement"].column
(2, 15)
>>> node.keys["Statement"]
(2, 2)
>>> node.plain()
{'Version': '2012-10-17', 'Statement': []}
"""
from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field

__all__ = ["JsonSyntaxError", "Node", "locate", "position"]

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}


class JsonSyntaxError(ValueError):
    """The text is not JSON; ``line`` and ``column`` say where reading stopped."""

    def __init__(self, message: str, *, line: int, column: int):
        super().__init__(f"line {line} column {column}: {message}")
        self.reason = message
        self.line = line
        self.column = column


@dataclass(frozen=True, kw_only=True, eq=False)
class Node:
    """One JSON value and where it starts.

    ``kind`` is ``object``, ``array``, ``string``, ``number``, ``boolean`` or ``null``.
    Objects keep ``members`` (key -> value node, last one wins as in :mod:`json`), ``keys``
    (key -> where the key itself starts) and ``duplicates`` (repeated keys, with the
    position of each repeat). Arrays keep ``items``.
    """

    kind: str
    value: object = None
    line: int
    column: int
    members: dict[str, Node] = field(default_factory=dict)
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)
    duplicates: tuple[tuple[str, int, int], ...] = ()
    items: tuple[Node, ...] = ()

    def plain(self) -> object:
        """The value as :func:`json.loads` would return it."""
        if self.kind == "object":
            return {k: v.plain() for k, v in self.members.items()}
        if self.kind == "array":
            return [item.plain() for item in self.items]
        return self.value


def position(text: str, offset: int) -> tuple[int, int]:
    """Line and column (1-based) of a character offset in ``text``.

    >>> position("ab\\ncd", 4)
    (2, 2)
    """
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    line = bisect.bisect_right(starts, offset)
    return line, offset - starts[line - 1] + 1


def locate(text: str) -> Node:
    """Read JSON ``text`` into a :class:`Node` tree, or raise :class:`JsonSyntaxError`.

    >>> try:
    ...     locate('{"a": [1,}')
    ... except JsonSyntaxError as error:
    ...     print(error)
    line 1 column 10: Expecting value
    """
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(exc.msg, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise JsonSyntaxError("nested too deeply", line=1, column=1) from None
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    node, _ = _Reader(text, starts).value(_WS.match(text, 0).end())
    return node


class _Reader:
    """A small recursive reader over text that :mod:`json` already accepted."""

    def __init__(self, text: str, starts: list[int]):
        self.text = text
        self.starts = starts
        self.decoder = json.JSONDecoder()

    def where(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def skip(self, offset: int) -> int:
        return _WS.match(self.text, offset).end()

    def value(self, at: int) -> tuple[Node, int]:
        line, column = self.where(at)
        char = self.text[at]
        if char == "{":
            return self.object(at, line, column)
        if char == "[":
            items, at = [], self.skip(at + 1)
            if self.text[at] == "]":
                return Node(kind="array", line=line, column=column), at + 1
            while True:
                item, at = self.value(at)
                items.append(item)
                at = self.skip(at)
                if self.text[at] == "]":
                    return Node(kind="array", line=line, column=column, items=tuple(items)), at + 1
                at = self.skip(at + 1)
        if char == '"':
            text, end = self.decoder.raw_decode(self.text, at)
            return Node(kind="string", value=text, line=line, column=column), end
        for word, literal in _LITERALS.items():
            if self.text.startswith(word, at):
                kind = "null" if literal is None else "boolean"
                return Node(kind=kind, value=literal, line=line, column=column), at + len(word)
        match = _NUMBER.match(self.text, at)
        number = json.loads(match.group())
        return Node(kind="number", value=number, line=line, column=column), match.end()

    def object(self, at: int, line: int, column: int) -> tuple[Node, int]:
        members: dict[str, Node] = {}
        keys: dict[str, tuple[int, int]] = {}
        duplicates: list[tuple[str, int, int]] = []
        at = self.skip(at + 1)
        while self.text[at] != "}":
            key_at = self.where(at)
            key, at = self.decoder.raw_decode(self.text, at)
            at = self.skip(self.skip(at) + 1)  # past the colon
            node, at = self.value(at)
            if key in members:
                duplicates.append((key, *key_at))
            members[key] = node
            keys[key] = key_at
            at = self.skip(at)
            if self.text[at] == ",":
                at = self.skip(at + 1)
        node = Node(kind="object", line=line, column=column, members=members, keys=keys,
                    duplicates=tuple(duplicates))
        return node, at + 1
