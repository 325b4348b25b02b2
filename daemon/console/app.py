"""The console's web app: server-rendered pages under ``/`` (cookie session, ``pages.py``) and
``/api/`` (bearer token or the same session, ``api.py``), both over the daemon's database.

FastAPI because it gives the OpenAPI spec of ``/api/`` from the same type hints that
validate the requests, and runs on uvicorn in a thread of the daemon. This module only
assembles it: the security headers every response carries, the log-in redirect, static files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from daemon.console import api, pages
from daemon.console.deps import LoginRequiredError
from daemon.console.state import Console
from daemon.console.views import package_version


def create_app(console: Console) -> FastAPI:
    app = FastAPI(
        title="maskwatch console API",
        version=package_version(),
        description="Violations, reviews, cameras, compliance and health of a maskwatch deployment. "
        "Authenticate with `Authorization: Bearer <token>` (tokens in `console.api_tokens`).",
        docs_url=None,  # Swagger UI loads from a CDN: not on an offline desk
        redoc_url=None,
        openapi_url=None,  # served by api.py, behind the log-in
    )
    app.state.console = console
    app.mount("/static", StaticFiles(directory=str(Path(__file__).resolve().parent / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)

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

    return app
