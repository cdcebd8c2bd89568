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

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ById", "OrgIndex", "Places"]


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


#: Account statuses of a member (moto's ``FakeAccount.status``; a closed account is
#: SUSPENDED and stays in the organization until removed:
#: https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html).
MEMBER_STATUSES = ("ACTIVE", "SUSPENDED")


class Places(Mapping):
    """Account id -> place (``make(account_id=, name=, parents=)``), read from moto's backend
    on first use of each id: the account by id, then its parents up to the root by id.
    ``parents`` are ``(id, name)`` pairs from the root down to the account's OU."""

    def __init__(self, backend, index: OrgIndex, root_id: str, make: Callable[..., Any]) -> None:
        self.index = index
        self._backend, self._root_id, self._make = backend, root_id, make
        self._places: dict[str, Any] = {}
        self._chains: dict[str, tuple[tuple[str, str], ...]] = {}

    def __getitem__(self, account_id: str) -> Any:
        place = self._places.get(account_id) if isinstance(account_id, str) else None
        if place is None:
            account = self.index.account(self._backend, account_id) if isinstance(account_id, str) else None
            if account is None or account.status not in MEMBER_STATUSES:
                raise KeyError(account_id)
            place = self._make(account_id=account.id, name=account.name,
                               parents=self._chain(account.parent_id))
            self._places[account_id] = place
        return place

    def __contains__(self, account_id: object) -> bool:
        try:
            self[account_id]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self):
        return iter([a.id for a in self._backend.accounts if a.status in MEMBER_STATUSES])

    def __len__(self) -> int:
        return sum(a.status in MEMBER_STATUSES for a in self._backend.accounts)

    def _chain(self, node_id: str) -> tuple[tuple[str, str], ...]:
        chain = self._chains.get(node_id)
        if chain is None:
            seen, out, current = set(), [], node_id
            while current is not None and current not in seen:
                node = self.index.ou(self._backend, current)
                if node is None:
                    break
                seen.add(current)
                out.append((node.id, node.name))
                current = node.parent_id if node.id != self._root_id else None
            chain = self._chains[node_id] = tuple(reversed(out))
        return chain
