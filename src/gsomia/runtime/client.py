"""A client of a node's REST API (docs/api.md): :class:`ApiClient`, and problems as errors.

Used by the CLI's client commands and by the demo, as any integrator would use the API.  A
problem details answer (RFC 9457) becomes an :class:`ApiError` whose exit code follows its
status: 400, 409, 413 and 422 → 2 (bad input); 401 and 403 → 7 (refused); 404 → 3 (unknown id);
5xx or no answer → 6 (node unavailable).
"""

from __future__ import annotations

import http.client
import json
from typing import Any, ClassVar, Final
from urllib.parse import urlencode, urlsplit

from gsomia.errors import GsomiaError, InputError

__all__ = ["ApiClient", "ApiError", "api_error"]

_MAX_ANSWER: Final = 64 * 1024 * 1024


class ApiError(GsomiaError):
    """A node answered with a problem, or did not answer; :func:`api_error` picks the subclass."""

    exit_code: ClassVar[int] = 6
    title: ClassVar[str] = "Node API error"

    def __init__(self, problem: dict[str, Any], status: int) -> None:
        code = problem.get("code")
        super().__init__(
            str(problem.get("detail") or problem.get("title") or f"HTTP {status}"),
            code=code if isinstance(code, str) else f"HTTP_{status}",
            detail={k: v for k, v in problem.items() if k not in ("detail", "code")},
        )
        self.http_status = status
        self.problem = problem

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        return dict(self.problem) or super().to_problem(instance)


class _ApiInput(ApiError):
    exit_code = 2


class _ApiDenied(ApiError):
    exit_code = 7


class _ApiNotFound(ApiError):
    exit_code = 3


_BY_STATUS: Final[dict[int, type[ApiError]]] = {
    400: _ApiInput, 409: _ApiInput, 413: _ApiInput, 422: _ApiInput,
    401: _ApiDenied, 403: _ApiDenied, 404: _ApiNotFound,
}  # fmt: skip


def api_error(problem: dict[str, Any], status: int) -> ApiError:
    """The error for a problem answer: exit 2, 3, 7, or 6 for 5xx and no answer."""
    kind = _BY_STATUS.get(status, ApiError if status >= 500 else _ApiInput)
    return kind(problem, status)


class ApiClient:
    """A small, blocking client of one node's API (``http.client``; one connection)."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise InputError(f"a node address is http://host:port, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._address = (parts.hostname, parts.port)
        self._token = token
        self._timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> tuple[bytes, str]:
        """``(body, content type)`` of a 2xx answer; :class:`ApiError` otherwise."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        target = path + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json, application/problem+json, */*"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection(*self._address, timeout=self._timeout)
        try:
            conn.request(method, target, body=data, headers=headers)
            response = conn.getresponse()
            answer = response.read(_MAX_ANSWER + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise api_error(
                {
                    "code": "NODE_UNREACHABLE",
                    "title": "Node unreachable",
                    "detail": f"no answer from {self.base_url}: {exc}",
                    "status": 503,
                },
                503,
            ) from None
        finally:
            conn.close()
        kind = response.getheader("Content-Type", "")
        if 200 <= response.status < 300:
            return answer, kind
        try:
            problem = json.loads(answer)
        except (ValueError, UnicodeDecodeError):
            problem = None
        if not isinstance(problem, dict):
            problem = {"title": f"HTTP {response.status}", "status": response.status}
        raise api_error(problem, response.status)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a 2xx answer."""
        answer, _ = self.call(method, path, **kwargs)
        return json.loads(answer) if answer else None
