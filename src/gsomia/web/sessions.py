"""Dashboard sessions: a server-side session per signed-in official, and CSRF tokens.

Theory of operation
-------------------
An official signs in with their API token (the same per-official token as the REST API, issue
4 §1).  The node checks it (:meth:`gsomia.node.Node.authenticate`, which audits a failure); the
dashboard then keeps the token **on the server**, in a :class:`Session`, and gives the browser
only a random session id (256 bits) in a cookie that is ``HttpOnly`` (no script can read it),
``SameSite=Strict`` (no other site's page can make the browser send it) and ``Secure`` when the
dashboard is served over https (then also named with the ``__Host-`` prefix).  The token never
reaches the page or its scripts.  The store keys sessions by the SHA-256 of the id, so the map
itself holds no usable cookie value.

Every request re-authenticates the stored token with the node, so a revoked token or a
deactivated official loses the dashboard at the next click, and every page shows what the node
decides for that official *now*.

Every form POST carries the session's CSRF token (a synchronizer token, compared in constant
time); a browser without a session gets an anonymous one on the sign-in page, so the sign-in form
is protected too.  Signing in replaces the anonymous session by a new one (a new id: no session
fixation); signing out deletes it.  Sessions end after :data:`IDLE` without a request, and after
:data:`LIFETIME` in any case.  The store is in memory: restarting the node signs everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "COOKIE",
    "COOKIE_SECURE",
    "IDLE",
    "LIFETIME",
    "Session",
    "SessionStore",
    "cookie_name",
]

COOKIE: Final = "gsomia_session"
COOKIE_SECURE: Final = "__Host-gsomia_session"  # RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain
IDLE: Final = 30 * 60.0
"""Seconds without a request after which a session ends."""
LIFETIME: Final = 12 * 3600.0
"""Seconds after sign-in after which a session ends whatever happens."""
MAX_SESSIONS: Final = 10_000


def cookie_name(https: bool) -> str:
    """The session cookie's name on this scheme."""
    return COOKIE_SECURE if https else COOKIE


def _key(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode("utf-8", errors="replace")).digest()


@dataclass
class Session:
    """One browser's session: anonymous (``token`` empty) or an official's."""

    csrf: str
    token: str = ""
    official_id: str = ""
    created: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)

    @property
    def signed_in(self) -> bool:
        """Whether an official signed in with this session."""
        return bool(self.token)

    def csrf_ok(self, presented: str | None) -> bool:
        """Whether ``presented`` is this session's CSRF token (constant-time comparison)."""
        return isinstance(presented, str) and hmac.compare_digest(
            presented.encode("utf-8", errors="replace"), self.csrf.encode("ascii")
        )


class SessionStore:
    """The sessions of one dashboard, in memory, safe to use from several threads."""

    def __init__(self, *, idle: float = IDLE, lifetime: float = LIFETIME) -> None:
        self._idle = idle
        self._lifetime = lifetime
        self._sessions: dict[bytes, Session] = {}
        self._lock = threading.Lock()

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self._idle or now - session.created > self._lifetime

    def _prune(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]
        while len(self._sessions) >= MAX_SESSIONS:  # the oldest go first
            del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].seen)]

    def create(self, *, token: str = "", official_id: str = "") -> tuple[str, Session]:
        """A new session and its id (the cookie value)."""
        session_id = secrets.token_urlsafe(32)
        session = Session(csrf=secrets.token_urlsafe(32), token=token, official_id=official_id)
        with self._lock:
            self._prune(time.monotonic())
            self._sessions[_key(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (its idle timer restarts), or None."""
        if not session_id or len(session_id) > 128:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(_key(session_id))
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[_key(session_id)]
                return None
            session.seen = now
            return session

    def delete(self, session_id: str | None) -> None:
        """End a session (sign-out); unknown ids are ignored."""
        if session_id:
            with self._lock:
                self._sessions.pop(_key(session_id), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
