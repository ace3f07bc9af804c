"""Users, passwords and API tokens of the server, and who an authenticated request is.

Passwords are hashed with argon2id. Tokens are random (``shp_`` and 43 URL-safe
characters), shown once, and kept as their SHA-256: a stolen database yields no usable
token, and a random token needs no slow hash. The prefix a list shows (``shp_AbCd1234``)
is enough to tell tokens apart.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipway.access import Actor, Role
from shipway.db.models import LoginFailure, Membership, Token, User, utcnow
from shipway.errors import Busy, Conflict, NotFound, ShipwayError, Unauthenticated, excerpt

TOKEN_PREFIX = "shp_"
_TOKEN = re.compile(r"shp_[A-Za-z0-9_-]{43}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,63}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
#: Failed sign-ins allowed per email and per address in one window.
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW = timedelta(minutes=5)

#: A dashboard sign-in is a token of this name, kept in a cookie for ``SESSION_TTL``: it is
#: listed with the user's tokens and revoked like them (signing out revokes it).
WEB_SESSION = "dashboard sign-in"
SESSION_TTL = timedelta(hours=12)

_hasher = PasswordHasher()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def check_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise ShipwayError(
            f"email: '{excerpt(email, 60)}' is not an email address; write name@example.com"
        )
    return email


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ShipwayError(
            f"password: use {MIN_PASSWORD} to {MAX_PASSWORD} characters (a passphrase is good)"
        )
    return password


def create_user(session: Session, email: str, site_admin: bool = False) -> User:
    email = check_email(email)
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(f"email: {email} already has an account")
    user = User(email=email, site_admin=site_admin)
    session.add(user)
    session.flush()
    return user


def user_named(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {excerpt(email.strip().lower(), 254)}")
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = _hasher.hash(check_password(password))


def init_server(session: Session, email: str) -> tuple[User, str]:
    """The first site admin and a token for them: the way into a new server, with no
    default password anywhere."""
    if session.scalar(select(func.count()).select_from(User)):
        raise Conflict("the server already has users; ask a site admin for an account")
    user = create_user(session, email, site_admin=True)
    return user, create_token(session, user, "server init")


def create_token(
    session: Session, user: User, name: str, expires_in: timedelta | None = None
) -> str:
    """A new token for ``user``; the only time its value exists outside the caller."""
    name = name.strip()
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise ShipwayError("name: give the token a name of 1 to 100 printable characters")
    secret = new_secret()
    session.add(
        Token(
            user_id=user.id,
            name=name,
            prefix=secret[:12],
            digest=digest(secret),
            expires_at=utcnow() + expires_in if expires_in else None,
        )
    )
    session.flush()
    return secret


def open_web_session(session: Session, user: User, address: str) -> str:
    """A dashboard sign-in for ``user``: the token the session cookie holds."""
    return create_token(session, user, f"{WEB_SESSION} from {address}"[:100], SESSION_TTL)


def csrf_token(secret: str) -> str:
    """The CSRF token of a dashboard session. It is derived from the session's token, so
    it needs no storage, and a page of another site, which cannot read the cookie, cannot
    compute it."""
    return hmac.new(secret.encode(), b"shipway dashboard csrf", hashlib.sha256).hexdigest()


def revoke_secret(session: Session, secret: str) -> None:
    """Revoke the token whose value is ``secret`` (signing out), if there is one."""
    token = session.scalar(select(Token).where(Token.digest == digest(secret)))
    if token is not None:
        token.revoked_at = token.revoked_at or utcnow()


def tokens_of(session: Session, user: User) -> list[Token]:
    return list(session.scalars(select(Token).where(Token.user_id == user.id).order_by(Token.id)))


def revoke_token(session: Session, user: User, token_id: int) -> Token:
    token = session.get(Token, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"no token {token_id}")
    token.revoked_at = token.revoked_at or utcnow()
    return token


def user_of_token(session: Session, secret: str) -> User:
    """The user a bearer token belongs to, or ``Unauthenticated`` (the same message for
    a malformed, unknown, revoked or expired token: none tells an attacker more)."""
    refused = Unauthenticated("the token is not valid: run shipway login again")
    if not _TOKEN.fullmatch(secret):
        raise refused
    token = session.scalar(select(Token).where(Token.digest == digest(secret)))
    now = utcnow()
    if token is None or token.revoked_at or (token.expires_at and token.expires_at <= now):
        raise refused
    if token.last_used_at is None or now - token.last_used_at > timedelta(seconds=60):
        token.last_used_at = now  # once a minute is precise enough, and spares writes
    user = session.get(User, token.user_id)
    if user is None:
        raise refused
    return user


def sign_in(session: Session, email: str, password: str, address: str) -> User:
    """Email and password checked, with failed attempts limited per email and address."""
    keys = [f"email:{email.strip().lower()[:254]}", f"address:{address}"]
    _check_rate(session, keys)
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    verified = _verified(user, password)  # an unknown email too takes one hash's time
    if user is None or not verified:
        _count_failure(session, keys)
        raise Unauthenticated("wrong email or password")
    return user


def _verified(user: User | None, password: str) -> bool:
    """Whether ``password`` is the user's. Without a user or a password to check, a hash
    is verified all the same: an unknown email takes as long as a wrong password, so the
    time of the answer does not tell which emails have accounts."""
    if len(password) > MAX_PASSWORD:
        return False
    known = user is not None and user.password_hash is not None
    try:
        _hasher.verify(user.password_hash if user and user.password_hash else _decoy(), password)
    except (VerificationError, InvalidHashError):
        return False
    return known


@functools.cache
def _decoy() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _check_rate(session: Session, keys: list[str]) -> None:
    start = utcnow() - LOGIN_WINDOW
    for row in session.scalars(select(LoginFailure).where(LoginFailure.key.in_(keys))):
        if row.window_start > start and row.count >= LOGIN_ATTEMPTS:
            raise Busy("too many failed sign-ins: wait a few minutes and try again")


def _count_failure(session: Session, keys: list[str]) -> None:
    start = utcnow() - LOGIN_WINDOW
    for key in keys:
        row = session.scalar(select(LoginFailure).where(LoginFailure.key == key))
        if row is None:
            session.add(LoginFailure(key=key, count=1, window_start=utcnow()))
        elif row.window_start <= start:
            row.count, row.window_start = 1, utcnow()
        else:
            row.count += 1


def actor_of(session: Session, user: User, address: str) -> Actor:
    roles = {
        m.team_id: Role(m.role)
        for m in session.scalars(select(Membership).where(Membership.user_id == user.id))
    }
    return Actor(
        email=user.email,
        user_id=user.id,
        roles=roles,
        site_admin=user.site_admin,
        address=address,
    )


def expiry(days: int | None) -> timedelta | None:
    if days is None:
        return None
    if not 1 <= days <= 3650:
        raise ShipwayError("expires_in_days: give 1 to 3650 days, or none for no expiry")
    return timedelta(days=days)


def when(moment: datetime | None) -> str | None:
    """A stored time as the API shows it (ISO 8601, UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None
