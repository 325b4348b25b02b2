"""The console's JSON API under ``/api/``: violations and their images, reviews, cameras and their
live frames, compliance, health, a server-sent event stream, and the OpenAPI spec itself.

FastAPI because the spec comes from the same type hints that validate the requests; callers
authenticate with a bearer token or the pages' session (then with a CSRF header on writes).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from daemon.console import data, views
from daemon.console.deps import (
    ApiUser,
    CameraName,
    ConsoleDep,
    Label,
    Period,
    ReviewState,
    ViolationId,
    check_csrf,
    when,
)
from daemon.console.state import Console
from storage.queries import cameras as camera_rows

THUMB_WIDTH = 320
JPEG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}, "description": "JPEG"}}

router = APIRouter()


class ReviewIn(BaseModel):
    verdict: Literal["confirmed", "false_positive"] = Field(description="The reviewer's verdict.")
    reason: Literal["masked", "not_a_face", "other"] | None = Field(
        None, description="Why it is a false positive (required for false_positive)."
    )
    note: str = Field("", max_length=2000, description="Free text, shown escaped.")


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request, _who: ApiUser) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/api/violations", tags=["violations"], summary="Violations, newest first, with their review state")
def api_violations(
    _who: ApiUser,
    console: ConsoleDep,
    camera: Annotated[str | None, Query(max_length=64)] = None,
    label: Label | None = None,
    review: ReviewState | None = None,
    since: Annotated[str | None, Query(max_length=64, description="2h, 30m, 7d or an ISO date")] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    flt = data.ViolationFilter(camera, label, review, when(since, "since"), when(until, "until"))
    rows, total = data.violation_page(console.db, flt, limit, offset)
    return {"total": total, "items": [r.as_json() for r in rows]}


@router.get("/api/violations/{violation_id}", tags=["violations"], summary="One violation, its deliveries and reviews")
def api_violation(_who: ApiUser, console: ConsoleDep, violation_id: ViolationId) -> dict[str, Any]:
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


def _image(console: Console, violation_id: int, which: str) -> Response:
    detail = data.violation_detail(console.db, violation_id)
    stored = None if detail is None else (detail.row.v.snapshot_path if which == "snapshot" else detail.row.v.crop_path)
    path = console.image_path(stored)
    if path is None:
        raise HTTPException(404, f"no {which} image for violation {violation_id}")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.get(
    "/api/violations/{violation_id}/snapshot.jpg",
    tags=["violations"],
    summary="The full frame with the face boxed",
    response_class=Response,
    responses=JPEG,
)
def api_snapshot(_who: ApiUser, console: ConsoleDep, violation_id: ViolationId) -> Response:
    return _image(console, violation_id, "snapshot")


@router.get(
    "/api/violations/{violation_id}/face.jpg",
    tags=["violations"],
    summary="The face crop",
    response_class=Response,
    responses=JPEG,
)
def api_face(_who: ApiUser, console: ConsoleDep, violation_id: ViolationId) -> Response:
    return _image(console, violation_id, "face")


@router.post("/api/violations/{violation_id}/review", tags=["reviews"], summary="Review a violation (reviewer role)")
def api_review(
    request: Request, who: ApiUser, console: ConsoleDep, violation_id: ViolationId, body: ReviewIn
) -> dict[str, Any]:
    check_csrf(who, request.headers.get("x-csrf-token"))  # only session cookies carry a CSRF token
    return views.review(console, who, violation_id, body.verdict, body.reason, body.note)


@router.get(
    "/api/cameras/{name}/frame.jpg",
    tags=["cameras"],
    summary="The camera's last sampled frame, small (only where the readers run in the console's process)",
    response_class=Response,
    responses=JPEG,
)
def api_camera_frame(_who: ApiUser, console: ConsoleDep, name: CameraName) -> Response:
    frame = console.frames.get(name) if console.frames is not None else None
    if frame is None:
        raise HTTPException(404, f"no frame of {name} in this process")
    return Response(_thumbnail(frame.image), media_type="image/jpeg", headers={"Cache-Control": "no-store"})


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


@router.get("/api/cameras", tags=["cameras"], summary="Cameras, their status and recent events")
def api_cameras(_who: ApiUser, console: ConsoleDep) -> list[dict[str, Any]]:
    return views.cameras_json(console)


@router.get("/api/stats", tags=["compliance"], summary="Mask rate and violations per camera and hour or day")
def api_stats(
    _who: ApiUser,
    console: ConsoleDep,
    since: Annotated[str | None, Query(max_length=64, description="2h, 30m, 7d or an ISO date")] = None,
    period: Period = "hour",
    format: Literal["json", "csv"] = "json",
) -> Any:
    rows = views.stats(console, since, period)
    return views.stats_csv(rows, period) if format == "csv" else rows


@router.get("/api/health", tags=["health"], summary="Daemon health, outbox backlog and the shipped models")
def api_health(_who: ApiUser, console: ConsoleDep) -> dict[str, Any]:
    return views.health_json(console)


@router.get(
    "/api/events",
    tags=["events"],
    summary="Server-sent events: violation_opened, violation_closed, camera_status",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an event stream"}},
)
async def api_events(
    request: Request,
    _who: ApiUser,
    console: ConsoleDep,
    max_seconds: Annotated[float, Query(gt=0, le=3600, description="end the stream after this long")] = 300,
) -> StreamingResponse:
    return StreamingResponse(
        _event_stream(request, console, max_seconds),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )


async def _event_stream(request: Request, console: Console, max_seconds: float) -> AsyncIterator[str]:
    """Polls the database once a second (the daemon may run in another process) and sends what changed."""
    last_id = await run_in_threadpool(data.max_violation_id, console.db)
    open_ids = {v.id for v in (await run_in_threadpool(data.last_changes, console.db, last_id))[1]}
    statuses = {c["name"]: c["since"] for c in await run_in_threadpool(_camera_states, console)}
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
        for cam in await run_in_threadpool(_camera_states, console):
            if statuses.get(cam["name"]) != cam["since"]:
                statuses[cam["name"]] = cam["since"]
                out.append(("camera_status", cam))
        for kind, payload in out:
            yield f"event: {kind}\ndata: {json.dumps(payload)}\n\n"
        if not out:
            yield ": keep-alive\n\n"


def _camera_states(console: Console) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "status": c.status, "since": c.status_since.isoformat() if c.status_since else None}
        for c in camera_rows(console.db)
    ]
