"""HTTP routes for the caller's own account: the e-mail address the node may mail them at.

The same steps as the profile page: give an address (a code is mailed to it),
send the code back (the address is verified and becomes the caller's), or remove
it. Nobody sets another user's address, administrators included.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from rsn import config
from rsn.api.deps import NodeDep, PrincipalDep
from rsn.api.jsonbody import JSONRoute
from rsn.notify.mail import Mailer
from rsn.registry import email
from rsn.registry.models import User
from rsn.sharing import Principal

router = APIRouter(prefix="/api/v1", tags=["profile"], route_class=JSONRoute)


class EmailRead(BaseModel):
    email: str | None = Field(description="the verified address the node mails, if any")
    verified: bool


class EmailGiven(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(max_length=320)]


class CodeSent(BaseModel):
    sent_to: str = Field(description="the address the code went to, as the node writes it")
    expires_in: int = Field(description="seconds the code works for")


class CodeGiven(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(max_length=40, description="the 8 digits in the mail")]


def _me(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.user_id)
    assert user is not None  # the token's user was found a moment ago
    return user


def _read(user: User) -> EmailRead:
    verified = email.verified_address(user)
    return EmailRead(email=verified, verified=verified is not None)


@router.get("/profile/email", response_model=EmailRead)
def read_email(node: NodeDep, principal: PrincipalDep) -> EmailRead:
    """The caller's verified address, or none."""
    with node.db.session() as session:
        return _read(_me(session, principal))


@router.post("/profile/email", status_code=202, response_model=CodeSent)
def give_email(given: EmailGiven, node: NodeDep, principal: PrincipalDep) -> CodeSent:
    """Mail a code to the address; it becomes the caller's when the code is sent back."""
    with node.db.session() as session:
        user = _me(session, principal)
    sent_to = email.request_check(
        node.db,
        user=user,
        email=given.email,
        mailer=Mailer.of(node.settings),
        base_url=config.base_url(node.settings),
    )
    return CodeSent(sent_to=sent_to, expires_in=int(email.LIFETIME.total_seconds()))


@router.post("/profile/email/verify", response_model=EmailRead)
def verify_email(given: CodeGiven, node: NodeDep, principal: PrincipalDep) -> EmailRead:
    """The code from the mail: the address it was sent to is now the caller's."""
    with node.db.session(write=True) as session:
        user = _me(session, principal)
        outcome = email.confirm(session, user=user, code=given.code)
        answer = _read(user)
    if isinstance(outcome, email.WrongCode):
        raise outcome  # after the commit, which keeps the record of the wrong try
    return answer


@router.delete("/profile/email", status_code=204)
def remove_email(node: NodeDep, principal: PrincipalDep) -> Response:
    """The node mails the caller no more."""
    with node.db.session(write=True) as session:
        email.remove(session, user=_me(session, principal))
    return Response(status_code=204)
