"""Find a root, OU or account of the lab's organization by id without scanning every one.

moto keeps an organization's nodes in two plain lists (``backend.ou``: the root and the OUs;
``backend.accounts``) and finds a node by walking the list, so every lookup costs time in
proportion to the size of the organization. At 1,000 accounts, doing that on every
authorized call made building an organization quadratic (``benchmarks/lab_build.py``).

:class:`ById` is an index over one such list, kept in step with it cheaply: moto only
ever *appends* to these lists or *removes* from them (``CreateAccount``,
``CreateOrganizationalUnit``, ``RemoveAccountFromOrganization``,
``DeleteOrganizationalUnit``, a new organization replaces them), and a node's id never
changes. So the index remembers the list, its length and its last element; new elements
at the end are added, anything else (a shorter list, a different last element, another
list) rebuilds the index. A node's other fields (``parent_id``, ``name``, ``status``,
``attached_policies``) are read from the live object, never copied.

>>> class Node:
...     def __init__(self, id): self.id = id
>>> nodes = [Node("r-1"), Node("ou-1")]
>>> index = ById()
>>> index.get(nodes, "ou-1") is nodes[1]
True
>>> nodes.append(Node("ou-2")); index.get(nodes, "ou-2") is nodes[2]
True
>>> nodes.remove(nodes[1]); index.get(nodes, "ou-1") is None
True
"""
from __future__ import annotations

from typing import Any

__all__ = ["ById", "OrgIndex"]


class ById:
    """An id -> element index over one of moto's node lists (see the module doc)."""

    __slots__ = ("_items", "_size", "_last", "_by_id")

    def __init__(self) -> None:
        self._items: list | None = None
        self._size = 0
        self._last: Any = None
        self._by_id: dict[str, Any] = {}

    def get(self, items: list, node_id: Any) -> Any:
        """The element of ``items`` whose ``id`` is ``node_id``, or None."""
        size = len(items)
        if items is not self._items or size < self._size or (
                self._size and items[self._size - 1] is not self._last):
            self._by_id = {item.id: item for item in items}  # removed or replaced: rebuild
        elif size > self._size:
            for item in items[self._size:]:  # appended
                self._by_id[item.id] = item
        else:
            return self._by_id.get(node_id)  # unchanged
        self._items, self._size = items, size
        self._last = items[-1] if size else None
        return self._by_id.get(node_id)


class OrgIndex:
    """Indexes over one organization backend's OUs (root included) and accounts."""

    __slots__ = ("ous", "accounts")

    def __init__(self) -> None:
        self.ous = ById()
        self.accounts = ById()

    def ou(self, backend, node_id: str) -> Any:
        """The root or OU with this id, or None."""
        return self.ous.get(backend.ou, node_id)

    def account(self, backend, account_id: str) -> Any:
        """The account with this id (any status), or None."""
        return self.accounts.get(backend.accounts, account_id)

    def node(self, backend, target_id: str) -> Any:
        """The root, OU or account with this id, or None."""
        found = self.ou(backend, target_id)
        return found if found is not None else self.account(backend, target_id)
