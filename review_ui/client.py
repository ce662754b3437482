"""The review screens' only way to the service: a small httpx client of the rubricate API.

Every URL the screens use is written here, once. Failures become :class:`ApiError` carrying the
server's own `{"error": {"code", "message", "detail"}}` message, so a screen can show it as is.
The screens never import `server/`: they see the service exactly as any reviewer's browser would.

>>> ApiError(409, "assignment 3 is already done").message
'assignment 3 is already done'
>>> ApiError(404, "Not Found", route_missing=True).not_available
True
"""

from __future__ import annotations

import os
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8400"
"""Same default as the service's `RUBRICATE_API_HOST`/`RUBRICATE_API_PORT`; `rubricate ui` passes the real one."""


def api_url() -> str:
    """Where the API lives: `RUBRICATE_API_URL`, else the service's default address."""
    return os.environ.get("RUBRICATE_API_URL", "").rstrip("/") or DEFAULT_API_URL


class ApiError(Exception):
    """A failed call, with the HTTP status and the server's message (and field details for 422)."""

    def __init__(
        self, status: int, message: str, detail: list[dict[str, Any]] | None = None, *, route_missing: bool = False
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.detail, self.route_missing = status, message, detail or [], route_missing

    @property
    def not_available(self) -> bool:
        """True when this server has no such route (an older server), not when a record is missing."""
        return self.route_missing

    def __str__(self) -> str:
        return self.message


def _error(reply: httpx.Response) -> ApiError:
    """Turn a non-2xx reply into an ApiError, reading the one error shape (or whatever came back)."""
    try:
        body = reply.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or reply.reason_phrase)
        detail = error.get("detail") if isinstance(error.get("detail"), list) else None
    elif isinstance(body, dict) and "detail" in body:
        message, detail = str(body["detail"]), None
    else:
        message, detail = (reply.text.strip() or reply.reason_phrase)[:500], None
    # Starlette answers an unknown path with a bare "Not Found" and an unknown method with 405; a missing
    # record always names what was not found, so the two cases can be told apart.
    missing = (reply.status_code == 404 and message == "Not Found") or reply.status_code == 405
    return ApiError(reply.status_code, message, detail, route_missing=missing)


class Client:
    """One signed-in person's view of the API; `token=None` is allowed only for `health`."""

    def __init__(self, base_url: str | None = None, token: str | None = None, *, timeout: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = (base_url or api_url()).rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            reply = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach the API at {self.base_url}: {exc}") from exc
        if reply.status_code >= 400:
            raise _error(reply)
        return reply

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = self._call(method, path, **kwargs)
        return reply.json() if reply.content else None

    # --------------------------------------------------------------- who and where

    def health(self) -> dict[str, Any]:
        return self._json("GET", "/health")

    def me(self) -> dict[str, Any]:
        """The signed-in person: `{id, name, role}`."""
        return self._json("GET", "/me")

    def projects(self) -> list[dict[str, Any]]:
        """Projects this person may see, each with their `role` in it."""
        return self._json("GET", "/projects")

    def project(self, project_id: int) -> dict[str, Any]:
        """One project with its `counts`."""
        return self._json("GET", f"/projects/{project_id}")

    # --------------------------------------------------------------- review

    def next_assignment(self, project_id: int) -> dict[str, Any]:
        """`{"assignment": {...} | None, "progress": {...}}`: the pending item, or a newly drawn one."""
        return self._json("POST", f"/projects/{project_id}/assignments/next")

    def submit_ranking(self, assignment_id: int, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Send a ranking; the same key on a retry returns the first ranking (`created: false`)."""
        return self._json(
            "POST", f"/assignments/{assignment_id}/ranking", json=body, headers={"Idempotency-Key": idempotency_key}
        )

    def skip(self, assignment_id: int, reason: str, note: str | None = None) -> None:
        """Skip an item with a reason from the taxonomy; its slot goes back to the queue."""
        self._call("POST", f"/assignments/{assignment_id}/skip", json={"reason": reason, "note": note or None})

    def review_settings(self, project_id: int) -> dict[str, Any]:
        return self._json("GET", f"/projects/{project_id}/review/settings")

    def put_review_settings(self, project_id: int, settings: dict[str, Any]) -> dict[str, Any]:
        return self._json("PUT", f"/projects/{project_id}/review/settings", json=settings)

    # --------------------------------------------------------------- adjudication

    def disputes(self, project_id: int, limit: int = 200) -> list[dict[str, Any]]:
        """Pairs where reviewers disagree or a judge disagrees with their majority; open ones first."""
        return self._json("GET", f"/projects/{project_id}/disputes", params={"limit": limit})

    def pair(self, pair_id: int) -> dict[str, Any]:
        """A pair in its stored order, with rankings and verdicts for authors and admins."""
        return self._json("GET", f"/pairs/{pair_id}")

    def adjudicate(self, pair_id: int, outcome: str, note: str = "", reason: str | None = None) -> dict[str, Any]:
        """Set the final label of a pair (in the pair's stored order), with the taxonomy's reason if given."""
        body = {"outcome": outcome, "note": note, "reason": reason}
        return self._json("POST", f"/pairs/{pair_id}/adjudication", json=body)

    # --------------------------------------------------------------- agreement

    def agreement(self, project_id: int, rubric: str | None = None, criterion: str | None = None) -> dict[str, Any]:
        """The agreement report (human↔human, judge↔human, judge bias, anchoring), optionally narrowed."""
        params = {k: v for k, v in {"rubric": rubric, "criterion": criterion}.items() if v}
        return self._json("GET", f"/projects/{project_id}/agreement", params=params)

    def leaderboard(self, project_id: int, source: str = "humans", judge: str | None = None) -> dict[str, Any]:
        """Model comparisons from the project's labels (``GET /projects/{id}/leaderboard``)."""
        params = {"source": source, "resamples": 200} | ({"judge": judge} if judge else {})
        return self._json("GET", f"/projects/{project_id}/leaderboard", params=params)

    def routing(self, project_id: int) -> dict[str, Any]:
        """The project's current certified routing (``GET /projects/{id}/routing``)."""
        return self._json("GET", f"/projects/{project_id}/routing")

    # --------------------------------------------------------------- rubrics

    def rubrics(self) -> list[dict[str, Any]]:
        """`[{name, versions: [...]}]`."""
        return self._json("GET", "/rubrics")

    def rubric_version(self, name: str, version: str) -> dict[str, Any]:
        """One published version: `{ref, sha256, published_at, rubric, guidelines}`.

        Asks `/rubrics/{name}/versions/{version}`, and `/rubrics/{name}@{version}` on servers that name
        versions by ref only.
        """
        try:
            return self._json("GET", f"/rubrics/{name}/versions/{version}")
        except ApiError as exc:
            if not exc.not_available:
                raise
        return self._json("GET", f"/rubrics/{name}@{version}")

    def rubric_diff(self, old: str, new: str) -> dict[str, Any]:
        """The semantic diff between two `NAME@VERSION` refs."""
        return self._json("GET", "/rubrics/diff", params={"old": old, "new": new})

    # --------------------------------------------------------------- export

    def export(self, project_id: int, options: dict[str, Any]) -> dict[str, Any]:
        """Run an export: `{"job": id, "manifest": {...}}`; the files download with :meth:`download_export`."""
        return self._json("POST", f"/projects/{project_id}/exports", json=options)

    def download_export(self, job_id: str) -> tuple[bytes, str]:
        """An export's folder as one zip file: its bytes and the file name the server suggests."""
        reply = self._call("GET", f"/exports/{job_id}/download")
        disposition = reply.headers.get("content-disposition", "")
        name = disposition.split("filename=", 1)[1].strip('"; ') if "filename=" in disposition else f"{job_id}.zip"
        return reply.content, name
