"""moto's stores that the lab reads directly: one helper per service, so every module finds
them the same way.

moto keeps state per account (and per Region, or ``"global"`` / ``"aws"`` for services
without Regions). An organization lives in its management account's Organizations store;
moto records each member account's management account in
``organizations_backends.master_accounts``. IAM is global: one store per account.
Both need moto's mock to be running (an open :class:`labkit.lab.Lab`).
"""
from __future__ import annotations

from typing import Any

__all__ = ["iam_backend", "organizations_backend"]


def organizations_backend(account_id: str) -> Any:
    """moto's Organizations store that holds ``account_id``'s organization: its management
    account's store (the account's own store when it is no member of an organization)."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account_id)
    return organizations_backends[owner[0] if owner else account_id]["aws"]


def iam_backend(account_id: str) -> Any:
    """moto's IAM store of ``account_id``."""
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["global"]
