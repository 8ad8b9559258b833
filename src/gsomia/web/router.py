"""The dashboard's router: sign-in and sign-out, static files, and every page module's routes.

:func:`create_router` is what the node's app includes (:func:`gsomia.api.create_app`).  The
pages live under ``/web/``; ``/`` redirects there.  Static files (stylesheet, ES modules, the
vendored map data, fonts and their licences) are served from the package by exact name (a fixed
table built at start, so no path from the request ever reaches the file system), with a day of
caching: they hold nothing classified.
"""

from __future__ import annotations

import mimetypes
from importlib import resources
from importlib.abc import Traversable
from typing import Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gsomia.errors import GsomiaError
from gsomia.node import Node
from gsomia.web import (
    pages_agreements,
    pages_audit,
    pages_cases,
    pages_exchanges,
    pages_live,
    pages_visits,
)
from gsomia.web.core import PREFIX, STATIC, Web, form_of
from gsomia.web.live import TrackBuffer
from gsomia.web.pages_audit import AuditVerifier
from gsomia.web.sessions import cookie_name

__all__ = ["create_router"]

_TYPES: Final = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".woff2": "font/woff2",
    ".svg": "image/svg+xml",
    ".md": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE files
}
_STATIC_CACHE: Final = "public, max-age=86400"


def _static_table() -> dict[str, Traversable]:
    """Every file under ``gsomia/web/static``, by its path relative to that folder."""
    table: dict[str, Traversable] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.is_file() and not entry.name.startswith("."):
                table[prefix + entry.name] = entry

    walk(resources.files("gsomia.web") / "static", "")
    return table


def _media_type(name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name.rsplit("/", 1)[-1] else ""
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _safe_next(target: str | None) -> str:
    """A local path to go to after sign-in (never another site: no open redirect)."""
    if not target:
        return f"{PREFIX}/agreements"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return f"{PREFIX}/agreements"
    if "\\" in target or not parts.path.startswith(f"{PREFIX}/"):
        return f"{PREFIX}/agreements"
    return target


def create_router(
    node: Node,
    *,
    buffer: TrackBuffer | None = None,
    verify_audit: AuditVerifier | None = None,
) -> APIRouter:
    """The dashboard of ``node``: pages under ``/web/``, its track stream and simulated feed.

    ``buffer`` is the node's live track buffer (a new one by default); ``verify_audit`` the
    audit verifier behind "verify now" (default: the node's own, else a checkpoint check; see
    :mod:`gsomia.web.pages_audit`).
    """
    web = Web(node, buffer=buffer or TrackBuffer())
    router = APIRouter()
    files = _static_table()

    @router.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    @router.get(f"{PREFIX}/", include_in_schema=False)
    def home(request: Request) -> Response:
        if web.viewer(request) is None:
            return web.to_login(request)
        return RedirectResponse(f"{PREFIX}/agreements", status_code=303)

    @router.get(f"{STATIC}/{{name:path}}", include_in_schema=False)
    def static(name: str) -> Response:
        found = files.get(name)
        if found is None:
            return Response("not found\n", status_code=404, media_type="text/plain")
        return Response(
            found.read_bytes(),
            media_type=_media_type(name),
            headers={"Cache-Control": _STATIC_CACHE},
        )

    @router.get(f"{PREFIX}/login", include_in_schema=False)
    def login_page(request: Request) -> Response:
        if web.viewer(request) is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        found = web.session_of(request)
        session_id, session = found if found is not None else web.sessions.create()
        response = web.render(request, "login.html", None, csrf=session.csrf,
                              next=_safe_next(request.query_params.get("next")), problem="")  # fmt: skip
        web.set_cookie(request, response, session_id)
        return response

    @router.post(f"{PREFIX}/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = form_of(await request.body())
        found = web.session_of(request)
        target = _safe_next(form.get("next"))
        if found is None or not found[1].csrf_ok(form.get("csrf")):
            return await run_in_threadpool(web.csrf_refused, request, None)
        token = form.get("token", "").strip()
        try:
            record = await run_in_threadpool(node.authenticate, token)  # audited if refused
        except GsomiaError:
            return web.render(
                request, "login.html", None, status=401, csrf=found[1].csrf, next=target,
                problem="That is not a valid API token of an active official of this node.",
            )  # fmt: skip
        web.sessions.delete(found[0])  # a new id on sign-in: no session fixation
        session_id, _ = web.sessions.create(token=token, official_id=record.official.id)
        moved = RedirectResponse(target, status_code=303)
        web.set_cookie(request, moved, session_id)
        return moved

    @router.post(f"{PREFIX}/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        form = form_of(await request.body())
        found = web.session_of(request)
        if found is None:
            return RedirectResponse(f"{PREFIX}/login", status_code=303)
        if not found[1].csrf_ok(form.get("csrf")):
            return await run_in_threadpool(web.csrf_refused, request, None)
        web.sessions.delete(found[0])
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        https = web.https(request)
        response.delete_cookie(cookie_name(https), path="/", secure=https, httponly=True,
                               samesite="strict")  # fmt: skip
        return response

    pages_agreements.install(router, web)
    pages_exchanges.install(router, web)
    pages_cases.install(router, web)
    pages_visits.install(router, web)
    pages_audit.install(router, web, verify_audit)
    pages_live.install(router, web)
    return router
