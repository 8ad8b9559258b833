"""The Audit page: the log's size and root, the signed checkpoint, the last verification, the
partners' checkpoints, and "verify now" with progress (Art. 17; RFC 9162; c2sp.org/tlog-checkpoint).

Any signed-in official may look (as ``GET /v1/audit/head`` and ``/v1/audit/checkpoint``).
"Verify now" (a POST with the CSRF token) starts one verification job per node in a thread; the
page follows its progress over Server-Sent Events (``GET /web/audit/jobs/{id}/events``: events
``progress`` ``{done, total}`` and ``result``).  Without scripts, reloading the page shows the
job's state.  The last finished job (by whom, when in the node's time, its result) is shown as
"last verification" until the node restarts.

What is verified goes through one small seam, :data:`AuditVerifier` (``verify(progress) ->
result`` with ``result.ok``): the verifier given to :func:`gsomia.web.create_router`, else the
node's own ``verify_audit`` method when it has one, else :func:`gsomia.node.audit_view.verify`:
a full recomputation of the log from every entry read through the node's store, against the
store's roots and the node's signed checkpoint, which also checks every partner checkpoint quoted
by a receipt in the log.  :func:`checkpoint_check` (the signed checkpoint names the live head)
remains for callers that want only that.  The page says which check ran.

The partners' checkpoints table is :func:`gsomia.node.audit_view.partner_logs` over the entries
the dashboard's :class:`~gsomia.node.audit_view.AuditIndex` has read (from a bounded distance
behind the head at the first look, then each new entry once): for each partner log, the largest
checkpoint its signed receipts quoted, how many, and whether they are consistent with each other.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from gsomia.audit.checkpoint import parse as parse_checkpoint
from gsomia.errors import GsomiaError
from gsomia.instants import format_instant
from gsomia.node import Node, audit_view
from gsomia.proofs.signed_note import parse_note
from gsomia.web import sse
from gsomia.web.core import PREFIX, Web, form_of

__all__ = ["AuditVerifier", "CheckResult", "Jobs", "checkpoint_check", "install", "verifier_for"]

Progress = Callable[[int, int], None]
AuditVerifier = Callable[[Progress], Any]
"""``verify(progress) -> result``: calls ``progress(done, total)`` as it goes; ``result.ok``."""
_POLL_S: Final = 0.1


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`checkpoint_check`."""

    ok: bool
    size: int
    detail: str


def checkpoint_check(node: Node) -> AuditVerifier:
    """A verifier over the node's public methods: the signed checkpoint names the live head."""

    def verify(progress: Progress) -> CheckResult:
        size, root = node.audit_head()
        progress(1, 3)
        note = parse_note(node.checkpoint())
        progress(2, 3)
        checkpoint = parse_checkpoint(note.text)
        progress(3, 3)
        if checkpoint.size < size or (checkpoint.size == size and checkpoint.root != root):
            return CheckResult(False, size, "the signed checkpoint does not name the live head")
        return CheckResult(True, checkpoint.size, "the signed checkpoint names the live head")

    return verify


def verifier_for(node: Node, given: AuditVerifier | None) -> tuple[AuditVerifier, str]:
    """The verifier to run and what it checks (see the module docstring)."""
    if given is not None:
        return given, "full"
    own = getattr(node, "verify_audit", None)
    if callable(own):
        return own, "full"
    ctx = audit_view.context_of(node)
    return (lambda progress: audit_view.verify(ctx, progress)), "full"


def _partner_view(p: Any) -> dict[str, Any]:
    return {"party": p.party, "origin": p.origin, "size": p.size, "root": p.root,
            "at": format_instant(p.at), "receipts": p.receipts, "consistent": p.consistent,
            "problem": p.problem}  # fmt: skip


@dataclass
class Job:
    """One verification run."""

    id: str
    started_by: str
    started: str = ""
    ended: str = ""
    partners: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0
    total: int = 0
    finished: bool = False
    ok: bool | None = None
    detail: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def view(self) -> dict[str, Any]:
        """The job as the page and its events show it."""
        with self.lock:
            return {"id": self.id, "done": self.done, "total": self.total,
                    "finished": self.finished, "ok": self.ok, "detail": self.detail,
                    "started_by": self.started_by, "started": self.started,
                    "ended": self.ended, "partners": list(self.partners)}  # fmt: skip


class Jobs:
    """Verification jobs of one node: at most one runs at a time; the last 16 are kept.

    ``now`` gives the instant jobs start and end at (the node's clock), as RFC 3339 text.
    """

    def __init__(self, verifier: AuditVerifier, now: Callable[[], str] = lambda: "") -> None:
        self.verifier = verifier
        self._now = now
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def last(self) -> Job | None:
        """The latest finished job, if any."""
        with self._lock:
            jobs = list(self._jobs.values())
        return next((j for j in reversed(jobs) if j.view()["finished"]), None)

    def get(self, job_id: str | None) -> Job | None:
        """A job by id."""
        with self._lock:
            return self._jobs.get(job_id or "")

    def start(self, official_id: str) -> Job:
        """Start a job (or return the one running)."""
        with self._lock:
            running = next((j for j in self._jobs.values() if not j.finished), None)
            if running is not None:
                return running
            job = Job(secrets.token_urlsafe(12), official_id, started=self._now())
            self._jobs[job.id] = job
            while len(self._jobs) > 16:
                del self._jobs[next(iter(self._jobs))]
        threading.Thread(target=self._run, args=(job,), name="gsomia-audit-verify",
                         daemon=True).start()  # fmt: skip
        return job

    def _run(self, job: Job) -> None:
        def progress(done: int, total: int) -> None:
            with job.lock:
                job.done, job.total = done, total

        try:
            result = self.verifier(progress)
            ok = bool(getattr(result, "ok", False))
            count = getattr(result, "problem_count", None)
            detail = getattr(result, "detail", "") or (
                "every entry re-hashed and every recorded root recomputed"
                if ok else f"{count if count is not None else 'some'} problems found"
            )  # fmt: skip
            partners = [_partner_view(p) for p in getattr(result, "partners", ())]
        except GsomiaError as err:
            ok, detail, partners = False, f"{err.code}: {err.message}", []
        except Exception:  # a defect must not leave the job running for ever
            ok, detail, partners = False, "the verification failed unexpectedly", []
        ended = self._now()
        with job.lock:
            job.ok, job.detail, job.partners, job.ended = ok, detail, partners, ended
            job.finished = True


def install(router: APIRouter, web: Web, verifier: AuditVerifier | None) -> None:
    """Add the Audit page, the verify action and its event stream to ``router``."""
    run, kind = verifier_for(web.node, verifier)
    jobs = Jobs(run, now=lambda: format_instant(web.node.now()))

    def page(request: Request, job_id: str | None) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        try:
            size, root = web.node.audit_head()
            note = web.node.checkpoint().decode("utf-8", errors="replace")
            partners = [_partner_view(p) for p in audit_view.partner_logs(web.audit_index)]
        except GsomiaError as err:
            return web.error(request, viewer, err)
        job, last = jobs.get(job_id), jobs.last()
        return web.render(request, "audit.html", viewer, size=size, root=root.hex(),
                          checkpoint=note, job=None if job is None else job.view(),
                          last=None if last is None else last.view(), partners=partners,
                          since=web.audit_index.start or 0, kind=kind)  # fmt: skip

    @router.get(f"{PREFIX}/audit", include_in_schema=False)
    def audit(request: Request) -> Response:
        return page(request, request.query_params.get("job"))

    @router.post(f"{PREFIX}/audit/verify", include_in_schema=False)
    async def verify(request: Request) -> Response:
        form = form_of(await request.body())
        viewer = await run_in_threadpool(web.viewer, request)
        if viewer is None:
            return web.to_login(request)
        if not viewer.session.csrf_ok(form.get("csrf")):
            return web.csrf_refused(request, viewer)
        job = jobs.start(viewer.id)
        return RedirectResponse(f"{PREFIX}/audit?job={job.id}", status_code=303)

    @router.get(f"{PREFIX}/audit/jobs/{{job_id}}/events", include_in_schema=False)
    async def job_events(job_id: str, request: Request) -> Response:
        viewer = await run_in_threadpool(web.viewer, request)
        job = jobs.get(job_id)
        if viewer is None or job is None:
            return Response(status_code=404 if viewer else 401)

        async def stream() -> AsyncIterator[bytes]:
            last: dict[str, Any] = {}
            while True:
                now = job.view()
                if now != last:
                    yield sse.event("progress", now)
                    last = now
                if now["finished"]:
                    yield sse.event("result", now)
                    return
                await asyncio.sleep(_POLL_S)

        return StreamingResponse(stream(), media_type=sse.MEDIA_TYPE, headers=sse.HEADERS)
