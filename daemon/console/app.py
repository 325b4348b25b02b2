"""The console's routes: server-rendered pages under ``/`` (cookie session) and ``/api/`` (bearer token
or the same session), both over the daemon's database.

FastAPI because it gives the OpenAPI spec of ``/api/`` from the same type hints that
validate the requests, and runs on uvicorn in a thread of the daemon; Jinja2 (autoescaping)
renders the pages, so camera names and notes are escaped wherever they appear.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from config.cameras import CAMERA_NAME
from config.console import ConsoleSettings
from config.settings import Settings
from core.messages import Frame
from daemon.console import data
from daemon.console.auth import Authenticator, Principal
from daemon.console.charts import compliance_svg, slots
from daemon.timeparse import parse_when
from storage.db import Database
from storage.queries import cameras as camera_rows
from storage.queries import compliance, outbox_backlog

log = logging.getLogger("maskwatch.console")
HERE = Path(__file__).resolve().parent
PAGE_SIZE = 50
LOGIN_COOKIE = "mw_login"
Label = Literal["without_mask", "incorrect_mask"]
ReviewState = Literal["unreviewed", "confirmed", "false_positive"]
Period = Literal["hour", "day"]
# a database integer: larger ids would overflow the driver instead of simply finding nothing
ViolationId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="violation id")]
CameraName = Annotated[str, PathParam(pattern=CAMERA_NAME.pattern, description="camera name")]
THUMB_WIDTH = 320


class LoginRequiredError(Exception):
    """A page asked for without a valid session: the browser goes to the log-in page."""


class ReviewIn(BaseModel):
    verdict: Literal["confirmed", "false_positive"] = Field(description="The reviewer's verdict.")
    reason: Literal["masked", "not_a_face", "other"] | None = Field(
        None, description="Why it is a false positive (required for false_positive)."
    )
    note: str = Field("", max_length=2000, description="Free text, shown escaped.")


class Console:
    """The state the routes share: settings, database, authenticator, and the daemon's health hook."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        auth: Authenticator,
        health: Callable[[], dict[str, Any]] | None = None,
        frames: Mapping[str, Frame] | None = None,
    ):
        self.settings = settings
        self.frames = frames
        self.cfg: ConsoleSettings = settings.console
        self.db = db
        self.auth = auth
        self.health = health
        self.snapshot_root = Path(settings.snapshots.dir).resolve()
        self.stopping = threading.Event()
        self._model_hashes: dict[tuple[str, int, float], str] = {}

    def secure_cookies(self, request: Request) -> bool:
        return request.url.scheme == "https" or bool(self.cfg.public_url and self.cfg.public_url.startswith("https:"))

    def image_path(self, stored: str | None) -> Path | None:
        """The stored snapshot path if, resolved, it lies inside the snapshots folder; else None."""
        if not stored:
            return None
        path = Path(stored).resolve()
        if not path.is_relative_to(self.snapshot_root) or not path.is_file():
            return None
        return path

    def model_files(self) -> list[dict[str, Any]]:
        from workers.inference import resolve_model_path

        out = []
        for role, rel in (
            ("detector", self.settings.inference.detector),
            ("classifier", self.settings.inference.classifier),
        ):
            path = Path(resolve_model_path(rel))
            entry: dict[str, Any] = {"role": role, "path": rel, "exists": path.is_file()}
            if path.is_file():
                st = path.stat()
                key = (str(path), st.st_size, st.st_mtime)
                if key not in self._model_hashes:  # hashed once per file version, not per page view
                    self._model_hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()
                entry.update(size_bytes=st.st_size, sha256=self._model_hashes[key])
            out.append(entry)
        return out


def _when(text: str | None, what: str) -> datetime | None:
    if not text:
        return None
    try:
        return parse_when(text)
    except ValueError as exc:
        raise HTTPException(422, f"{what}: {exc}") from None


def _fmt_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _in_process_frames() -> dict[str, dict[str, int]]:
    """Frames read / processed / dropped per camera, when the pipeline runs in this process."""
    from prometheus_client import REGISTRY

    wanted = {
        "maskwatch_frames_read_total": "read",
        "maskwatch_frames_processed_total": "processed",
        "maskwatch_frames_dropped_total": "dropped",
    }
    out: dict[str, dict[str, int]] = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name in wanted and "camera" in sample.labels:
                out.setdefault(sample.labels["camera"], {})[wanted[sample.name]] = int(sample.value)
    return out


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def page_user(request: Request) -> Principal:
    """The session's user; without one the browser is sent to the log-in page."""
    who = _console(request).auth.from_cookie(request.cookies.get(Authenticator.COOKIE))
    if who is None:
        raise LoginRequiredError()
    return who


def api_user(request: Request) -> Principal:
    """A bearer token's holder, or the session's user (the console's own pages call the API too)."""
    auth = _console(request).auth
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        who = auth.check_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    else:
        who = auth.from_cookie(request.cookies.get(Authenticator.COOKIE))
    if who is None:
        raise HTTPException(401, "log in or send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    return who


def check_csrf(who: Principal, sent: str | None) -> None:
    """Session users must echo their CSRF token; bearer tokens carry none (no cookie, no cross-site risk)."""
    if who.csrf and not (sent and hmac.compare_digest(sent, who.csrf)):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page")


PageUser = Annotated[Principal, Depends(page_user)]
ApiUser = Annotated[Principal, Depends(api_user)]


def create_app(console: Console) -> FastAPI:  # noqa: C901 - one place that lists every route
    app = FastAPI(
        title="maskwatch console API",
        version=_version(),
        description="Violations, reviews, cameras, compliance and health of a maskwatch deployment. "
        "Authenticate with `Authorization: Bearer <token>` (tokens in `console.api_tokens`).",
        docs_url=None,  # Swagger UI loads from a CDN: not on an offline desk
        redoc_url=None,
        openapi_url=None,  # served below, behind the log-in
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["when"] = _fmt_time
    templates.env.filters["iso_when"] = lambda text: _fmt_time(datetime.fromisoformat(text)) if text else "—"
    app.state.console = console
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    auth = console.auth

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")  # faces are personal data
        return response

    @app.exception_handler(LoginRequiredError)
    async def to_login(request: Request, _exc: LoginRequiredError) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    def render(request: Request, name: str, who: Principal | None, status_code: int = 200, **ctx: Any) -> Response:
        return templates.TemplateResponse(
            request, name, {"who": who, "nav": name.split(".")[0], **ctx}, status_code=status_code
        )

    # ---- log-in --------------------------------------------------------------------------

    def _safe_next(target: str | None) -> str:
        # only a path on this site: no //host or scheme, so the log-in cannot bounce to elsewhere
        if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
            return target
        return "/violations"

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str | None = None, error: str | None = None) -> Response:
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), error=error)
        response.set_cookie(
            LOGIN_COOKIE, token, max_age=600, httponly=True, samesite="strict", secure=console.secure_cookies(request)
        )
        return response

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        name: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=256)],
        csrf: Annotated[str, Form(max_length=64)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/violations",
    ) -> Response:
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie, csrf):
            return RedirectResponse("/login?error=expired", status_code=303)
        keys = (f"user:{name}", f"addr:{request.client.host if request.client else '-'}")
        if auth.limiter.blocked(*keys):
            log.warning("console: log-in refused for %r: too many failed attempts", name)
            return render(
                request,
                "login.html",
                None,
                status_code=429,
                login_csrf=csrf,
                next=_safe_next(next),
                error="locked",
            )
        who = auth.check_password(name, password)
        if who is None:
            auth.limiter.failed(*keys)
            log.info("console: failed log-in for %r", name)
            return RedirectResponse(f"/login?error=bad&next={quote(_safe_next(next), safe='')}", status_code=303)
        auth.limiter.succeeded(*keys)
        log.info("console: %s logged in", who.name)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            Authenticator.COOKIE,
            auth.session_cookie(who),
            max_age=int(console.cfg.session_hours * 3600),
            httponly=True,
            samesite="strict",
            secure=console.secure_cookies(request),
        )
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(who: PageUser, csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(who, csrf)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(Authenticator.COOKIE)
        return response

    # ---- pages ---------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def home(_who: PageUser) -> Response:
        return RedirectResponse("/violations", status_code=303)

    def _filters(
        camera: str | None, label: str | None, review: str | None, since: str | None, until: str | None
    ) -> data.ViolationFilter:
        return data.ViolationFilter(
            camera=camera or None,
            label=label if label in ("without_mask", "incorrect_mask") else None,
            review=review if review in data.REVIEW_STATES else None,
            since=_when(since, "since"),
            until=_when(until, "until"),
        )

    def _violations_ctx(page: int, **raw: str | None) -> dict[str, Any]:
        try:
            flt = _filters(**raw)
            error = None
        except HTTPException as exc:
            flt, error = data.ViolationFilter(), str(exc.detail)
        rows, total = data.violation_page(console.db, flt, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        kept = {k: v for k, v in raw.items() if v}
        pages = max(1, -(-total // PAGE_SIZE))
        return {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": pages,
            "filters": raw,
            "error": error,
            "cameras": [c.name for c in camera_rows(console.db)],
            "query": urlencode(kept),
            "prev_url": f"/violations?{urlencode({**kept, 'page': page - 1})}" if page > 1 else None,
            "next_url": f"/violations?{urlencode({**kept, 'page': page + 1})}" if page < pages else None,
        }

    @app.get("/violations", include_in_schema=False)
    def violations_page(
        request: Request,
        who: PageUser,
        camera: str | None = None,
        label: str | None = None,
        review: str | None = None,
        since: str | None = None,
        until: str | None = None,
        page: Annotated[int, Query(ge=1, le=100000)] = 1,
    ) -> Response:
        ctx = _violations_ctx(page, camera=camera, label=label, review=review, since=since, until=until)
        return render(request, "violations.html", who, status_code=422 if ctx["error"] else 200, **ctx)

    @app.get("/violations/rows", include_in_schema=False)
    def violations_rows(
        request: Request,
        who: PageUser,
        camera: str | None = None,
        label: str | None = None,
        review: str | None = None,
        since: str | None = None,
        until: str | None = None,
        page: Annotated[int, Query(ge=1, le=100000)] = 1,
    ) -> Response:
        """The table body alone, for the live update of the Violations page."""
        ctx = _violations_ctx(page, camera=camera, label=label, review=review, since=since, until=until)
        response = render(request, "_rows.html", who, **ctx)
        response.headers["X-Total-Count"] = str(ctx["total"])
        return response

    @app.get("/violations/{violation_id}", include_in_schema=False)
    def violation_page(request: Request, who: PageUser, violation_id: ViolationId) -> Response:
        detail = data.violation_detail(console.db, violation_id)
        if detail is None:
            return render(request, "missing.html", who, status_code=404, what=f"violation {violation_id}")
        link = console.image_path
        return render(
            request,
            "violation.html",
            who,
            d=detail,
            has_snapshot=link(detail.row.v.snapshot_path) is not None,
            has_face=link(detail.row.v.crop_path) is not None,
            reasons=data.REASONS,
        )

    @app.post("/violations/{violation_id}/review", include_in_schema=False)
    def review_form(
        who: PageUser,
        violation_id: ViolationId,
        verdict: Annotated[str, Form(max_length=32)],
        reason: Annotated[str, Form(max_length=32)] = "",
        note: Annotated[str, Form(max_length=2000)] = "",
        csrf: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        check_csrf(who, csrf)
        _review(who, violation_id, verdict, reason or None, note)
        return RedirectResponse(f"/violations/{violation_id}", status_code=303)

    def _review(who: Principal, violation_id: int, verdict: str, reason: str | None, note: str) -> dict[str, Any]:
        if not who.can_review:
            raise HTTPException(403, f"{who.name} is a {who.role}; reviews need the reviewer role")
        try:
            review = data.add_review(console.db, violation_id, verdict, reason, note, who.name)
        except KeyError:
            raise HTTPException(404, f"no violation {violation_id}") from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        log.info("console: %s marked violation %d %s", who.name, violation_id, verdict)
        return data.review_json(review) or {}

    @app.get("/cameras", include_in_schema=False)
    def cameras_page(request: Request, who: PageUser) -> Response:
        return render(request, "cameras.html", who, cams=_cameras_json())

    @app.get("/compliance", include_in_schema=False)
    def compliance_page(
        request: Request, who: PageUser, since: str | None = "24h", period: Period = "hour"
    ) -> Response:
        try:
            rows = _stats(since, period)
            error = None
        except HTTPException as exc:
            rows, error = [], str(exc.detail)
        per_camera: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            per_camera.setdefault(r["camera"], []).append(r)
        start = _when(since, "since") if not error else None
        if start is None and rows:
            first = min(r[period] for r in rows)  # the labels are UTC and sort as text
            start = datetime.strptime(first, "%Y-%m-%d %H:00" if period == "hour" else "%Y-%m-%d").replace(tzinfo=UTC)
        axis = slots(start.astimezone(UTC), datetime.now(UTC), period) if start else []
        charts = {cam: compliance_svg(cam, cam_rows, period, axis) for cam, cam_rows in per_camera.items()}
        return render(
            request,
            "compliance.html",
            who,
            status_code=422 if error else 200,
            rows=rows,
            charts=charts,
            since=since or "",
            period=period,
            error=error,
            csv_query=urlencode({"since": since or "", "period": period}),
        )

    @app.get("/compliance.csv", include_in_schema=False)
    def compliance_csv(_who: PageUser, since: str | None = "24h", period: Period = "hour") -> Response:
        return _csv(_stats(since, period), period)

    @app.get("/health", include_in_schema=False)
    def health_page(request: Request, who: PageUser) -> Response:
        return render(request, "health.html", who, h=_health_json())

    # ---- API -----------------------------------------------------------------------------

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(_who: ApiUser) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/violations", tags=["violations"], summary="Violations, newest first, with their review state")
    def api_violations(
        _who: ApiUser,
        camera: Annotated[str | None, Query(max_length=64)] = None,
        label: Label | None = None,
        review: ReviewState | None = None,
        since: Annotated[str | None, Query(max_length=64, description="2h, 30m, 7d or an ISO date")] = None,
        until: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> dict[str, Any]:
        flt = data.ViolationFilter(camera, label, review, _when(since, "since"), _when(until, "until"))
        rows, total = data.violation_page(console.db, flt, limit, offset)
        return {"total": total, "items": [r.as_json() for r in rows]}

    @app.get("/api/violations/{violation_id}", tags=["violations"], summary="One violation, its deliveries and reviews")
    def api_violation(_who: ApiUser, violation_id: ViolationId) -> dict[str, Any]:
        detail = data.violation_detail(console.db, violation_id)
        if detail is None:
            raise HTTPException(404, f"no violation {violation_id}")
        return {
            **detail.row.as_json(),
            "snapshot_error": detail.row.v.snapshot_error,
            "deliveries": [
                {
                    "channel": a.channel,
                    "status": a.status,
                    "attempts": a.attempts,
                    "delivered_at": a.delivered_at.isoformat() if a.delivered_at else None,
                    "last_error": a.last_error,
                }
                for a in detail.deliveries
            ],
            "reviews": [data.review_json(r) for r in detail.reviews],
        }

    def _image(violation_id: int, which: str) -> Response:
        detail = data.violation_detail(console.db, violation_id)
        stored = (
            None if detail is None else (detail.row.v.snapshot_path if which == "snapshot" else detail.row.v.crop_path)
        )
        path = console.image_path(stored)
        if path is None:
            raise HTTPException(404, f"no {which} image for violation {violation_id}")
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})

    jpeg: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}, "description": "JPEG"}}

    @app.get(
        "/api/violations/{violation_id}/snapshot.jpg",
        tags=["violations"],
        summary="The full frame with the face boxed",
        response_class=Response,
        responses=jpeg,
    )
    def api_snapshot(_who: ApiUser, violation_id: ViolationId) -> Response:
        return _image(violation_id, "snapshot")

    @app.get(
        "/api/violations/{violation_id}/face.jpg",
        tags=["violations"],
        summary="The face crop",
        response_class=Response,
        responses=jpeg,
    )
    def api_face(_who: ApiUser, violation_id: ViolationId) -> Response:
        return _image(violation_id, "face")

    @app.post("/api/violations/{violation_id}/review", tags=["reviews"], summary="Review a violation (reviewer role)")
    def api_review(request: Request, who: ApiUser, violation_id: ViolationId, body: ReviewIn) -> dict[str, Any]:
        check_csrf(who, request.headers.get("x-csrf-token"))  # only session cookies carry a CSRF token
        return _review(who, violation_id, body.verdict, body.reason, body.note)

    def _cameras_json() -> list[dict[str, Any]]:
        frames = _in_process_frames()
        latest = data.latest_violation_per_camera(console.db)
        events = data.camera_events(console.db, limit=500)
        out = []
        for c in camera_rows(console.db):
            last = latest.get(c.name)
            out.append(
                {
                    "name": c.name,
                    "status": c.status,
                    "since": c.status_since.isoformat() if c.status_since else None,
                    "source": c.source,
                    "frames": frames.get(c.name),
                    "live_frame": console.frames is not None and c.name in console.frames,
                    "latest_violation_id": last.id if last else None,
                    "events": [
                        {"kind": e.kind, "at": e.at.isoformat(), "detail": e.detail}
                        for e in events
                        if e.camera == c.name
                    ][:20],
                }
            )
        return out

    @app.get(
        "/api/cameras/{name}/frame.jpg",
        tags=["cameras"],
        summary="The camera's last sampled frame, small (only where the readers run in the console's process)",
        response_class=Response,
        responses=jpeg,
    )
    def api_camera_frame(_who: ApiUser, name: CameraName) -> Response:
        frame = console.frames.get(name) if console.frames is not None else None
        if frame is None:
            raise HTTPException(404, f"no frame of {name} in this process")
        return Response(_thumbnail(frame.image), media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.get("/api/cameras", tags=["cameras"], summary="Cameras, their status and recent events")
    def api_cameras(_who: ApiUser) -> list[dict[str, Any]]:
        return _cameras_json()

    def _stats(since: str | None, period: str) -> list[dict[str, Any]]:
        return data.stats_rows(compliance(console.db, since=_when(since, "since")), period)

    @app.get("/api/stats", tags=["compliance"], summary="Mask rate and violations per camera and hour or day")
    def api_stats(
        _who: ApiUser,
        since: Annotated[str | None, Query(max_length=64, description="2h, 30m, 7d or an ISO date")] = None,
        period: Period = "hour",
        format: Literal["json", "csv"] = "json",
    ) -> Any:
        rows = _stats(since, period)
        return _csv(rows, period) if format == "csv" else rows

    def _health_json() -> dict[str, Any]:
        daemon = None
        if console.health is not None:
            try:
                daemon = console.health()
            except Exception as exc:  # noqa: BLE001 - the page shows what went wrong instead
                daemon = {"ok": False, "error": str(exc)}
        return {
            "version": _version(),
            "daemon": daemon,
            "outbox_backlog": outbox_backlog(console.db),
            "outbox": data.outbox_by_channel(console.db),
            "models": console.model_files(),
            "transport": console.settings.transport.type,
        }

    @app.get("/api/health", tags=["health"], summary="Daemon health, outbox backlog and the shipped models")
    def api_health(_who: ApiUser) -> dict[str, Any]:
        return _health_json()

    @app.get(
        "/api/events",
        tags=["events"],
        summary="Server-sent events: violation_opened, violation_closed, camera_status",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "an event stream"}},
    )
    async def api_events(
        request: Request,
        _who: ApiUser,
        max_seconds: Annotated[float, Query(gt=0, le=3600, description="end the stream after this long")] = 300,
    ) -> StreamingResponse:
        return StreamingResponse(
            _event_stream(request, max_seconds), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
        )

    async def _event_stream(request: Request, max_seconds: float) -> AsyncIterator[str]:
        last_id = await run_in_threadpool(data.max_violation_id, console.db)
        open_ids = {v.id for v in (await run_in_threadpool(data.last_changes, console.db, last_id))[1]}
        statuses = {c["name"]: c["since"] for c in await run_in_threadpool(_camera_states)}
        deadline = time.monotonic() + max_seconds
        yield "retry: 2000\n: maskwatch events\n\n"
        while time.monotonic() < deadline and not console.stopping.is_set():
            await asyncio.sleep(1.0)
            if await request.is_disconnected():
                break
            new, still_open = await run_in_threadpool(data.last_changes, console.db, last_id)
            out = []
            for v in new:
                last_id = max(last_id, v.id)
                out.append(("violation_opened", data.ViolationRow(v, None).as_json()))
            now_open = {v.id for v in still_open}
            for vid in sorted(open_ids - now_open):
                out.append(("violation_closed", {"id": vid}))
            open_ids = now_open
            for cam in await run_in_threadpool(_camera_states):
                if statuses.get(cam["name"]) != cam["since"]:
                    statuses[cam["name"]] = cam["since"]
                    out.append(("camera_status", cam))
            for kind, payload in out:
                yield f"event: {kind}\ndata: {json.dumps(payload)}\n\n"
            if not out:
                yield ": keep-alive\n\n"

    def _camera_states() -> list[dict[str, Any]]:
        return [
            {"name": c.name, "status": c.status, "since": c.status_since.isoformat() if c.status_since else None}
            for c in camera_rows(console.db)
        ]

    return app


def _thumbnail(image: Any) -> bytes:
    """A small JPEG of a BGR frame: encoded here, on request, never in the pipeline."""
    import cv2

    h, w = image.shape[:2]
    if w > THUMB_WIDTH:
        image = cv2.resize(image, (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 75])
    if not ok:
        raise HTTPException(500, "the frame could not be encoded")
    return bytes(buf)


def _csv(rows: list[dict[str, Any]], period: str) -> Response:
    buf = io.StringIO()
    columns = ["camera", period, "with_mask", "without_mask", "incorrect_mask", "mask_rate", "violations"]
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        buf.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="maskwatch-compliance-{period}.csv"'},
    )


def _version() -> str:
    try:
        return version("maskwatch")
    except PackageNotFoundError:
        return "unknown"
