"""What the console's routes take as parameters: who is asking (a page session or an API caller),
the CSRF check, the shared ``Console``, typed path parameters and the time filters.

In one module so the pages and the API authenticate, and validate ids and times, the same way.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam

from config.cameras import CAMERA_NAME
from daemon.console.auth import Authenticator, Principal
from daemon.console.state import Console
from daemon.timeparse import parse_when

Label = Literal["without_mask", "incorrect_mask"]
ReviewState = Literal["unreviewed", "confirmed", "false_positive"]
Period = Literal["hour", "day"]
# a database integer: larger ids would overflow the driver instead of simply finding nothing
ViolationId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="violation id")]
CameraName = Annotated[str, PathParam(pattern=CAMERA_NAME.pattern, description="camera name")]


class LoginRequiredError(Exception):
    """A page asked for without a valid session: the browser goes to the log-in page."""


def get_console(request: Request) -> Console:
    """The app's ``Console``, set by ``create_app``."""
    console: Console = request.app.state.console
    return console


def page_user(request: Request) -> Principal:
    """The session's user; without one the browser is sent to the log-in page."""
    who = get_console(request).auth.from_cookie(request.cookies.get(Authenticator.COOKIE))
    if who is None:
        raise LoginRequiredError()
    return who


def api_user(request: Request) -> Principal:
    """A bearer token's holder, or the session's user (the console's own pages call the API too)."""
    auth = get_console(request).auth
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


def when(text: str | None, what: str) -> datetime | None:
    """A ``since``/``until`` filter (``2h``, an ISO date) as a time; a bad one is a 422 naming the field."""
    if not text:
        return None
    try:
        return parse_when(text)
    except ValueError as exc:
        raise HTTPException(422, f"{what}: {exc}") from None


PageUser = Annotated[Principal, Depends(page_user)]
ApiUser = Annotated[Principal, Depends(api_user)]
ConsoleDep = Annotated[Console, Depends(get_console)]
