"""``Lab``: the offline AWS world every notebook works in (``00-start-here``).

A lab starts moto in-process and is, at first, an empty AWS world with one account: the
future management account. Learners act in it through *lab sessions*, real
``boto3.Session`` objects for one role in one account::

    lab = Lab().start()                      # or: with Lab() as lab: ...
    org = lab.session("management").client("organizations")
    org.create_organization(FeatureSet="ALL")

Roles the lab uses by default:

- in the management account, ``LabAdmin`` (:data:`ADMIN_ROLE`), a role the lab creates on
  first use, trusted by the management account and carrying the AWS managed policy
  ``AdministratorAccess``; it stands for the administrator who set up the organization;
- in member accounts, ``OrganizationAccountAccessRole``, which AWS creates in every
  account made with ``CreateAccount`` with administrator permissions (AWS attaches
  ``AdministratorAccess``; moto creates the role with no policy, so the lab attaches it):
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html

While a lab is open, ``boto3.client(SERVICE)`` and ``boto3.resource(SERVICE)`` (boto3's
default session) act as ``lab.session("management")``, with every lab rule; a client made
from any other session is refused, since the lab's rules would not apply to it. Closing
the lab restores boto3's default session.

Nothing a lab does leaves the machine: see :mod:`labkit.safety`. Only one lab is open at a
time (moto's world is global to the process): starting a new lab closes the open one, with
a warning, so re-running a notebook's first cell just works.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from labkit import safety
from labkit.backends import organizations_backend
from labkit.iam_entities import find_role
from labkit.admin_roles import (
    ADMIN_ROLE, MEMBER_ROLE, create_admin_role, ensure_administrator_access, missing_role_message,
)
from labkit.quotas import OrganizationsQuotas, quotas_named
from labkit.sessions import (
    LabCall, ServiceError, ServiceReply, install_handlers, mark_requests, new_botocore_session,
)

if TYPE_CHECKING:  # pragma: no cover
    import boto3

__all__ = [
    "ADMIN_ROLE", "MEMBER_ROLE", "Lab", "LabCall", "LabError", "ServiceError", "ServiceReply",
]

SESSION_NAME = "labkit"
_ACCOUNT_ID = re.compile(r"^\d{12}$")

Guard = Callable[[LabCall], "ServiceError | ServiceReply | None"]
Observer = Callable[[LabCall, dict], None]


class LabError(RuntimeError):
    """The lab was used wrongly: it is closed, or an account or role does not exist."""


class Lab:
    """The offline AWS world. See the module documentation."""

    _open: ClassVar[Lab | None] = None

    def __init__(self, *, region: str = "us-east-1", enforce: bool = True,
                 pin_accounts: bool = True,
                 quotas: OrganizationsQuotas | str | None = None) -> None:
        #: The Organizations quotas the lab's rules enforce (:mod:`labkit.quotas`): the
        #: documented set by default, ``quotas="may-2026"`` for the May 2026 numbers.
        self.quotas = quotas_named(quotas)
        self.region = region
        self.enforce = enforce
        self.pin_accounts = pin_accounts
        self._guards: list[tuple[Guard, bool]] = []
        self._observers: list[Observer] = []
        self._sessions: dict[tuple[str, str, str], boto3.Session] = {}
        self._credentials: dict[tuple[str, str], dict[str, str]] = {}
        self._stack: contextlib.ExitStack | None = None
        self._closed = False
        self._root_session: boto3.Session | None = None
        self._template = None  # the first botocore session; later ones share its data
        # state other modules keep on the lab: the organization view cache
        # (labkit.applicable_policies) and the last denial (labkit.enforcement.last_denial)
        self._labkit_org_cache = None
        self._labkit_last_denial = None
        #: The value of :data:`labkit.safety.LAB_MARK_HEADER` on this lab's requests.
        self.mark = uuid.uuid4().hex

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> Lab:
        """Start moto, set fake credentials and the region, install the safety guard."""
        if self._stack is not None:
            return self
        if self._closed:
            raise LabError("this lab was closed; make a new one: lab = Lab().start()")
        safety.check_environment()
        previous = Lab._open
        if previous is not None:
            warnings.warn(
                "closing the lab that was already open (one lab at a time); "
                "its sessions stop working", stacklevel=2)
            previous.close()
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(self._environment())
            stack.enter_context(self._moto())
            stack.enter_context(safety.guard_http_layer())
            stack.enter_context(safety.moto_only_clients(mark=self.mark))
            stack.enter_context(self._default_session())
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        Lab._open = self
        from labkit import admin_roles, denials, enforcement, org_accounts, organizations

        self.add_guard(organizations.check_call)
        self.add_guard(denials.decode_authorization_message)
        self.add_observer(org_accounts.after_create_organization)
        self.add_observer(admin_roles.after_create_account)
        enforcement.install(self)  # authorization runs first; skipped while enforce is false
        return self

    def close(self) -> None:
        """Stop moto and restore the environment. Lab sessions refuse calls afterwards."""
        if self._stack is None:
            self._closed = True
            return
        stack, self._stack = self._stack, None
        self._closed = True
        self._sessions.clear()
        self._credentials.clear()
        self._root_session = None
        self._template = None
        self._labkit_org_cache = None
        self._labkit_last_denial = None
        if Lab._open is self:
            Lab._open = None
        stack.close()

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._stack is not None else ("closed" if self._closed else "new")
        return f"<Lab {state} region={self.region} management={self.management_account_id}>"

    @contextlib.contextmanager
    def _environment(self):
        with tempfile.TemporaryDirectory(prefix="labkit-aws-") as home:
            config = os.path.join(home, "config")
            credentials = os.path.join(home, "credentials")
            for path in (config, credentials):
                open(path, "w").close()
            wanted = safety.lab_environment(
                os.environ, region=self.region, config_file=config,
                credentials_file=credentials)
            touched = (set(os.environ) - set(wanted)) | {
                k for k, v in wanted.items() if os.environ.get(k) != v}
            saved = {k: os.environ.get(k) for k in touched}
            for k in touched:
                if k in wanted:
                    os.environ[k] = wanted[k]
                else:
                    del os.environ[k]
            try:
                yield
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v

    @contextlib.contextmanager
    def _moto(self):
        from moto.core.models import MockAWS

        mock = MockAWS(config={"core": {
            "mock_credentials": False,
            "passthrough": {"urls": [], "services": []},
            "reset_boto3_session": True,
            "service_whitelist": None,
        }})
        mock.start(reset=True)
        try:
            yield
        finally:
            mock.stop(remove_data=True)

    @contextlib.contextmanager
    def _default_session(self):
        """boto3's default session becomes ``self.session("management")`` on first use."""
        import boto3

        saved, setup = boto3.DEFAULT_SESSION, boto3.setup_default_session

        def setup_default_session(**kwargs):
            if set(kwargs) <= {"region_name"} and self._stack is not None:
                boto3.DEFAULT_SESSION = self.session(
                    "management", region=kwargs.get("region_name"))
            else:  # a profile or keys: a plain session, which the lab then refuses
                setup(**kwargs)

        boto3.DEFAULT_SESSION, boto3.setup_default_session = None, setup_default_session
        try:
            yield
        finally:
            boto3.DEFAULT_SESSION, boto3.setup_default_session = saved, setup

    def _check_open(self) -> None:
        if self._stack is None:
            raise LabError(
                "this lab is closed (or was never started), so its sessions are too: "
                "start one with lab = Lab().start() and make new sessions from it")

    # -- accounts ---------------------------------------------------------------------
    @property
    def management_account_id(self) -> str:
        """The account of the new, empty world; the management account once it has an org."""
        from moto.core import DEFAULT_ACCOUNT_ID

        return DEFAULT_ACCOUNT_ID

    def account_id(self, account: str) -> str:
        """The 12-digit id of ``"management"``, an account name in the org, or an id."""
        if account == "management":
            return self.management_account_id
        if _ACCOUNT_ID.match(account):
            return account
        self._check_open()
        backend = organizations_backend(self.management_account_id)
        if backend.org is None:
            raise LabError(
                f"no account named {account!r}: this lab has no organization yet "
                "(use 'management' or a 12-digit account id)")
        found = [a.id for a in backend.accounts if a.name == account]
        if len(found) == 1:
            return found[0]
        if found:
            raise LabError(f"{len(found)} accounts are named {account!r} ({', '.join(found)}); "
                           "use the account id")
        names = sorted(a.name for a in backend.accounts)
        shown = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
        raise LabError(f"no account named {account!r} in the organization; accounts: {shown}")

    # -- sessions ---------------------------------------------------------------------
    def session(self, account: str, role: str | None = None,
                region: str | None = None) -> boto3.Session:
        """A ``boto3.Session`` assumed into ``role`` in ``account`` (cached)."""
        self._check_open()
        account_id = self.account_id(account)
        management = account_id == self.management_account_id
        role = role or (ADMIN_ROLE if management else MEMBER_ROLE)
        region = region or self.region
        key = (account_id, role, region)
        session = self._sessions.get(key)
        if session is None:
            session = self._new_session(account_id, role, region)
            self._sessions[key] = session
        return session

    def _botocore_session(self):
        if self._template is None:
            import botocore.session

            self._template = botocore.session.Session()
        return new_botocore_session(self._template)

    def _new_session(self, account_id: str, role: str, region: str) -> boto3.Session:
        import boto3

        creds = self._credentials.get((account_id, role))
        if creds is None:
            creds = self._assume(account_id, role)
            self._credentials[(account_id, role)] = creds
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=region,
            botocore_session=self._botocore_session(),
        )
        install_handlers(
            session, lab=self, account_id=account_id,
            role_arn=f"arn:aws:iam::{account_id}:role/{role}",
            principal_arn=f"arn:aws:sts::{account_id}:assumed-role/{role}/{SESSION_NAME}",
        )
        return session

    def _root(self) -> boto3.Session:
        """The management account's own credentials: the lab's plumbing, not for learners."""
        if self._root_session is None:
            import boto3

            session = boto3.Session(
                aws_access_key_id=safety.FAKE_ACCESS_KEY_ID,
                aws_secret_access_key=safety.FAKE_SECRET_ACCESS_KEY,
                region_name=self.region,
                botocore_session=self._botocore_session())
            mark_requests(session, mark=self.mark, account_id=(
                self.management_account_id if self.pin_accounts else None))
            self._root_session = session
        return self._root_session

    def _assume(self, account_id: str, role: str) -> dict[str, str]:
        management = self.management_account_id
        if find_role(account_id, role) is None:
            if account_id == management and role == ADMIN_ROLE:
                create_admin_role(self._root().client("iam"), management)
            else:
                raise LabError(self._no_role(account_id, role))
        elif role == MEMBER_ROLE:
            ensure_administrator_access(account_id, role)
        # Member roles are assumed from the management account's administrator, as in AWS.
        caller = self._root() if account_id == management else self._admin_caller()
        sts = caller.client("sts", region_name=self.region)
        return sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}",
            RoleSessionName=SESSION_NAME)["Credentials"]

    def _no_role(self, account_id: str, role: str) -> str:
        backend = organizations_backend(self.management_account_id)
        names = [a.name for a in (backend.accounts if backend.org else ()) if a.id == account_id]
        return missing_role_message(account_id, role, account_name=names[0] if names else None,
                                    management=account_id == self.management_account_id)

    def _admin_caller(self) -> boto3.Session:
        return self.session("management", ADMIN_ROLE, self.region)

    # -- guards -----------------------------------------------------------------------
    def add_guard(self, guard: Guard, *, authorization: bool = False,
                  first: bool = False) -> None:
        """Run ``guard(call)`` before every call of every lab session.

        The guard returns ``None`` (go ahead), a :class:`ServiceError` (refuse, as the
        service would) or a :class:`ServiceReply` (answer in the service's place); it may
        also raise. Authorization guards (``authorization=True``) are skipped while
        ``lab.enforce`` is false. Guards run in the order added; ``first=True`` puts this
        one before the others (AWS authorizes a request before the service validates it,
        so an authorization guard belongs before the lab's Organizations rules).
        """
        if any(g is guard for g, _ in self._guards):
            return
        if first:
            self._guards.insert(0, (guard, authorization))
        else:
            self._guards.append((guard, authorization))

    def _run_guards(self, call: LabCall) -> ServiceError | ServiceReply | None:
        for guard, authorization in list(self._guards):
            if authorization and not self.enforce:
                continue
            refusal = guard(call)
            if refusal is not None:
                return refusal
        return None

    def add_observer(self, observer: Observer) -> None:
        """Run ``observer(call, parsed)`` after every successful call of every lab session
        (``parsed`` is the response), in the order added; adding one twice is harmless.
        The lab's own follow-ups are observers: the management account's name after
        CreateOrganization, a new account's member role, forgetting the cached organization
        after a write."""
        if not any(o is observer for o in self._observers):
            self._observers.append(observer)

    def _after_call(self, call: LabCall, parsed: dict[str, Any]) -> None:
        for observer in list(self._observers):
            observer(call, parsed)

    # -- designs ----------------------------------------------------------------------
    def apply(self, design):
        """Build an organization design with real boto3 calls (``labkit.design``).

        Returns what :func:`labkit.design.apply_design` returns: the ids of the OUs,
        accounts and policies it made.
        """
        from labkit.design import apply_design

        return apply_design(self, design)
