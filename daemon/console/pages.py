"""The console's server-rendered pages: log-in and log-out, violations (list, live rows, detail,
review form), cameras, compliance (chart and CSV) and health, all behind the session cookie.

Jinja2 with autoescaping renders them, so camera names and notes are escaped wherever they appear.
None is in the OpenAPI spec: that documents ``/api/`` only.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from daemon.console import data, views
from daemon.console.auth import Authenticator, Principal
from daemon.console.charts import compliance_svg, slots
from daemon.console.deps import ConsoleDep, PageUser, Period, ViolationId, check_csrf, when
from daemon.console.state import Console
from storage.queries import cameras as camera_rows

log = logging.getLogger("maskwatch.console")
PAGE_SIZE = 50
LOGIN_COOKIE = "mw_login"

router = APIRouter(include_in_schema=False)


def _fmt_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
templates.env.filters["when"] = _fmt_time
templates.env.filters["iso_when"] = lambda text: _fmt_time(datetime.fromisoformat(text)) if text else "—"


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


@router.get("/login")
def login_page(request: Request, console: ConsoleDep, next: str | None = None, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), error=error)
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=600, httponly=True, samesite="strict", secure=console.secure_cookies(request)
    )
    return response


@router.post("/login")
def login(
    request: Request,
    console: ConsoleDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/violations",
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf):
        return RedirectResponse("/login?error=expired", status_code=303)
    auth = console.auth
    keys = (f"user:{name}", f"addr:{request.client.host if request.client else '-'}")
    if auth.limiter.blocked(*keys):
        log.warning("console: log-in refused for %r: too many failed attempts", name)
        return render(
            request, "login.html", None, status_code=429, login_csrf=csrf, next=_safe_next(next), error="locked"
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


@router.post("/logout")
def logout(who: PageUser, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(who, csrf)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(Authenticator.COOKIE)
    return response


# ---- pages ---------------------------------------------------------------------------


@router.get("/")
def home(_who: PageUser) -> Response:
    return RedirectResponse("/violations", status_code=303)


def _filters(
    camera: str | None, label: str | None, review: str | None, since: str | None, until: str | None
) -> data.ViolationFilter:
    return data.ViolationFilter(
        camera=camera or None,
        label=label if label in ("without_mask", "incorrect_mask") else None,
        review=review if review in data.REVIEW_STATES else None,
        since=when(since, "since"),
        until=when(until, "until"),
    )


def _violations_ctx(console: Console, page: int, **raw: str | None) -> dict[str, Any]:
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


@dataclass
class ViolationsQuery:
    """The Violations page's filters and page, as query parameters (one definition for the page
    and for its live-updated rows)."""

    camera: str | None = None
    label: str | None = None
    review: str | None = None
    since: str | None = None
    until: str | None = None
    page: Annotated[int, Query(ge=1, le=100000)] = 1

    def context(self, console: Console) -> dict[str, Any]:
        raw = {"camera": self.camera, "label": self.label, "review": self.review, "since": self.since}
        return _violations_ctx(console, self.page, **raw, until=self.until)


Filters = Annotated[ViolationsQuery, Depends()]


@router.get("/violations")
def violations_page(request: Request, who: PageUser, console: ConsoleDep, query: Filters) -> Response:
    ctx = query.context(console)
    return render(request, "violations.html", who, status_code=422 if ctx["error"] else 200, **ctx)


@router.get("/violations/rows")
def violations_rows(request: Request, who: PageUser, console: ConsoleDep, query: Filters) -> Response:
    """The table body alone, for the live update of the Violations page."""
    ctx = query.context(console)
    response = render(request, "_rows.html", who, **ctx)
    response.headers["X-Total-Count"] = str(ctx["total"])
    return response


@router.get("/violations/{violation_id}")
def violation_page(request: Request, who: PageUser, console: ConsoleDep, violation_id: ViolationId) -> Response:
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


@router.post("/violations/{violation_id}/review")
def review_form(
    who: PageUser,
    console: ConsoleDep,
    violation_id: ViolationId,
    verdict: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_csrf(who, csrf)
    views.review(console, who, violation_id, verdict, reason or None, note)
    return RedirectResponse(f"/violations/{violation_id}", status_code=303)


@router.get("/cameras")
def cameras_page(request: Request, who: PageUser, console: ConsoleDep) -> Response:
    return render(request, "cameras.html", who, cams=views.cameras_json(console))


@router.get("/compliance")
def compliance_page(
    request: Request, who: PageUser, console: ConsoleDep, since: str | None = "24h", period: Period = "hour"
) -> Response:
    try:
        rows = views.stats(console, since, period)
        error = None
    except HTTPException as exc:
        rows, error = [], str(exc.detail)
    per_camera: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        per_camera.setdefault(r["camera"], []).append(r)
    start = when(since, "since") if not error else None
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


@router.get("/compliance.csv")
def compliance_csv(_who: PageUser, console: ConsoleDep, since: str | None = "24h", period: Period = "hour") -> Response:
    return views.stats_csv(views.stats(console, since, period), period)


@router.get("/health")
def health_page(request: Request, who: PageUser, console: ConsoleDep) -> Response:
    return render(request, "health.html", who, h=views.health_json(console))
