"""What every dashboard page shares: the signed-in viewer, rendering, CSRF, security headers.

:class:`Web` is the state of one node's dashboard (the node, its sessions, its track buffer,
the templates); every page module installs its routes with it (``install(router, web)``).

Rendering: Jinja2 templates shipped as package data, autoescaped (HTML and SVG), rendered to a
complete page on the server.  Every page answer carries a Content Security Policy that allows
scripts, styles, fonts and data from the node itself only (``'self'``; the one inline script,
the import map of the vendored ES modules, is allowed by its SHA-256), forbids framing, and
sends no referrer; the API's middleware adds ``Cache-Control: no-store`` and ``nosniff``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from gsomia.errors import GsomiaError
from gsomia.instants import format_instant
from gsomia.node import Node
from gsomia.node.audit_view import AuditIndex, context_of
from gsomia.node.directory import may
from gsomia.ports import OfficialRecord, Role
from gsomia.web.live import TrackBuffer
from gsomia.web.sessions import Session, SessionStore, cookie_name

__all__ = ["FORM_CODE", "PREFIX", "STATIC", "Viewer", "Web", "form_of"]

PREFIX: Final = "/web"
STATIC: Final = f"{PREFIX}/static"
MAX_FORM: Final = 256 * 1024
IMPORT_MAP: Final = json.dumps(
    {"imports": {"d3-array": f"{STATIC}/vendor/d3-array/d3-array.min.mjs"}},
    separators=(",", ":"),
)
_MAP_HASH: Final = base64.b64encode(hashlib.sha256(IMPORT_MAP.encode()).digest()).decode()
CSP: Final = (
    "default-src 'none'; "
    f"script-src 'self' 'sha256-{_MAP_HASH}'; "
    "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_LANG: Final = {"KOR": "ko", "JPN": "ja"}
_CSRF_CODE: Final = "WEB_CSRF_INVALID"
FORM_CODE: Final = "WEB_FORM_INVALID"


@dataclass(frozen=True)
class Viewer:
    """The official signed in on this request, as the node authenticated them just now."""

    record: OfficialRecord
    session_id: str
    session: Session

    @property
    def id(self) -> str:
        """The official's id."""
        return self.record.official.id

    def has(self, party: str, *roles: Role) -> bool:
        """Whether the official holds one of ``roles`` at the node of ``party`` (node rule)."""
        return may(self.record, party, *roles)


@dataclass
class Web:
    """One node's dashboard: the node, sessions, tracks, templates, audit index (module docstring)."""

    node: Node
    sessions: SessionStore = field(default_factory=SessionStore)
    buffer: TrackBuffer = field(default_factory=TrackBuffer)
    env: Environment = field(init=False)
    audit_index: AuditIndex = field(init=False)
    """The partners' checkpoints and relay approvals, followed in the log (Audit, Hub approvals)."""

    def __post_init__(self) -> None:
        self.audit_index = AuditIndex(context_of(self.node))
        self.env = Environment(
            loader=PackageLoader("gsomia.web", "templates"),
            autoescape=select_autoescape(["html", "svg"], default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(static=STATIC, prefix=PREFIX, import_map=IMPORT_MAP, lang=lang)
        self.env.filters["instant"] = show_instant

    # ------------------------------------------------------------------------------- sessions

    def https(self, request: Request) -> bool:
        """Whether the browser reached the dashboard over https."""
        return request.url.scheme == "https"

    def session_of(self, request: Request) -> tuple[str, Session] | None:
        """The request's live session and its id, if its cookie names one."""
        session_id = request.cookies.get(cookie_name(self.https(request)))
        session = self.sessions.get(session_id)
        return None if session is None or session_id is None else (session_id, session)

    def viewer(self, request: Request) -> Viewer | None:
        """The signed-in official, re-authenticated with the node now; None if there is none.

        A token the node no longer accepts (revoked, official deactivated) ends the session; the
        node audits the refusal as it does for the API.
        """
        found = self.session_of(request)
        if found is None or not found[1].signed_in:
            return None
        session_id, session = found
        try:
            record = self.node.authenticate(session.token)
        except GsomiaError:
            self.sessions.delete(session_id)
            return None
        return Viewer(record, session_id, session)

    def set_cookie(self, request: Request, response: Response, session_id: str) -> None:
        """Give the browser its session id: HttpOnly, SameSite=Strict, Secure over https."""
        https = self.https(request)
        response.set_cookie(
            cookie_name(https), session_id, httponly=True, samesite="strict", secure=https,
            path="/",
        )  # fmt: skip

    # ------------------------------------------------------------------------------ rendering

    def render(
        self,
        request: Request,
        template: str,
        viewer: Viewer | None,
        *,
        status: int = 200,
        csrf: str = "",
        **context: Any,
    ) -> HTMLResponse:
        """A whole page from ``template``, with the navigation the viewer may use."""
        node = self.node
        page = self.env.get_template(template).render(
            request_path=request.url.path,
            party=node.party,
            viewer=viewer,
            nav=self.nav(viewer),
            csrf=viewer.session.csrf if viewer is not None else csrf,
            **context,
        )
        return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)

    def nav(self, viewer: Viewer | None) -> list[tuple[str, str]]:
        """The pages in the navigation for ``viewer`` (the node still decides on each page)."""
        if viewer is None:
            return []
        party = self.node.party
        officers = (Role.SECURITY_OFFICER, Role.RELEASE_OFFICER)
        links = [("agreements", "Agreements")]
        if viewer.has(party, *officers, Role.READER):
            links.append(("exchanges", "Exchanges"))
        if viewer.has(party, *officers):
            links.append(("consent", "Consent requests"))
            links.append(("approvals", "Hub approvals"))
        if viewer.has(party, Role.SECURITY_OFFICER):
            links.append(("breaches", "Breaches"))
            links.append(("visits", "Visits"))
        links += [("audit", "Audit"), ("live", "Live missile warning")]
        return links

    def error(self, request: Request, viewer: Viewer | None, err: GsomiaError) -> Response:
        """The page for a refusal: its status, title, code and message; 401 goes to sign-in."""
        if err.status == 401:
            return self.to_login(request)
        return self.render(
            request, "error.html", viewer, status=err.status, title=err.title, code=err.code,
            message=err.message, reasons=err.detail.get("reasons", []),
        )  # fmt: skip

    def csrf_refused(self, request: Request, viewer: Viewer | None) -> Response:
        """403 for a form without this session's CSRF token; audited as a rejected input."""
        route = getattr(request.scope.get("route"), "path", request.url.path)
        actor = None if viewer is None else viewer.id
        try:
            self.node.audit_refused_request(f"{request.method} {route}", _CSRF_CODE, actor)
        except GsomiaError as err:
            return self.error(request, viewer, err)
        return self.render(
            request, "error.html", viewer, status=403, title="Form refused", code=_CSRF_CODE,
            message="This form was not sent from this session's page. Reload the page and try "
            "again.", reasons=[],
        )  # fmt: skip

    def form_refused(self, request: Request, viewer: Viewer, message: str) -> Response:
        """400 ``WEB_FORM_INVALID`` for a form the node cannot be asked with; audited (``reject``)."""
        route = getattr(request.scope.get("route"), "path", request.url.path)
        try:
            self.node.audit_refused_request(f"{request.method} {route}", FORM_CODE, viewer.id)
        except GsomiaError as err:
            return self.error(request, viewer, err)
        return self.render(request, "error.html", viewer, status=400, title="Form refused",
                           code=FORM_CODE, message=message, reasons=[])  # fmt: skip

    async def posted(self, request: Request) -> tuple[Viewer, dict[str, str]] | Response:
        """The signed-in viewer and the form of a POST with this session's CSRF token; else the
        answer to send (sign-in, or the audited CSRF refusal)."""
        form = form_of(await request.body())
        viewer = await run_in_threadpool(self.viewer, request)
        if viewer is None:
            return self.to_login(request)
        if not viewer.session.csrf_ok(form.get("csrf")):
            return await run_in_threadpool(self.csrf_refused, request, viewer)
        return viewer, form

    async def act(
        self, request: Request, action: Callable[[Viewer, dict[str, str]], Response]
    ) -> Response:
        """A form POST: :meth:`posted`, then ``action(viewer, form)`` in a worker thread (it calls
        the node, which blocks); a refusal the action raises is shown by :meth:`error`."""
        got = await self.posted(request)
        if isinstance(got, Response):
            return got
        viewer, form = got

        def run() -> Response:
            try:
                return action(viewer, form)
            except GsomiaError as err:
                return self.error(request, viewer, err)

        return await run_in_threadpool(run)

    def to_login(self, request: Request) -> RedirectResponse:
        """Redirect to the sign-in page, remembering where the official was going."""
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)


def form_of(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (last value wins); bounded."""
    if len(body) > MAX_FORM:
        return {}
    text = body.decode("utf-8", errors="replace")
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=64))


def lang(party: str | None) -> str:
    """The BCP 47 language of a party's marking texts (``ko``, ``ja``, else ``en``)."""
    return _LANG.get(party or "", "en")


def show_instant(value: datetime | None, tz: ZoneInfo | str | None = None) -> str:
    """An instant as RFC 3339 in ``tz`` (UTC by default), for pages; empty for None."""
    if value is None:
        return ""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return format_instant(value, zone)


def query(request: Request) -> Mapping[str, str]:
    """The request's query parameters (last value wins)."""
    return dict(request.query_params)
