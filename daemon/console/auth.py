"""Who is asking: argon2 password hashes, API tokens, signed session cookies, log-in rate limits.

Passwords are hashed with argon2 (argon2-cffi) because a leaked config must not give away
log-ins; API tokens are random 32-byte strings, so a plain SHA-256 of them is enough and
keeps each API call cheap. Sessions are itsdangerous-signed cookies: nothing to store on
the server, expiry checked from the signed timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from config.console import ConsoleSettings, ConsoleUser

log = logging.getLogger("maskwatch.console")
HASHER = PasswordHasher()
# verifying an unknown user costs the same as a known one: no timing hint of which names exist
_DUMMY_HASH = HASHER.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def hash_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """A logged-in user or an API token holder."""

    name: str
    role: str
    csrf: str = ""  # the session's CSRF token; empty for bearer tokens (no cookie, no CSRF risk)

    @property
    def can_review(self) -> bool:
        return self.role == "reviewer"


def first_user(settings: ConsoleSettings) -> tuple[list[ConsoleUser], str | None]:
    """The configured users; with none, the generated first user (and its password on the start that made it).

    Only the hash is written to ``first_user_file``; the password is returned once so the
    caller can show it, and never again.
    """
    if settings.users:
        return list(settings.users), None
    path = Path(settings.first_user_file)
    if path.exists():
        data = json.loads(path.read_text())
        return [ConsoleUser(**data)], None
    password = secrets.token_urlsafe(12)
    user = ConsoleUser(name="admin", password_hash=hash_password(password), role="reviewer")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(user.model_dump()))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return [user], password


class Authenticator:
    """Checks passwords, tokens and session cookies against the console settings."""

    COOKIE = "mw_session"

    def __init__(self, settings: ConsoleSettings, users: list[ConsoleUser]):
        self.settings = settings
        self.users = {u.name: u for u in users}
        secret = os.environ.get(settings.session_secret_env)
        if not secret:
            log.info("console: $%s is not set; sessions end when the console restarts", settings.session_secret_env)
            secret = secrets.token_urlsafe(32)
        self.serializer = URLSafeTimedSerializer(secret, salt="maskwatch-console-session")
        self.tokens: dict[str, tuple[str, str]] = {}
        for tok in settings.api_tokens:
            digest = tok.token_hash
            if tok.token_env:
                value = os.environ.get(tok.token_env)
                if not value:
                    log.warning("console: API token %s: $%s is not set; the token is off", tok.name, tok.token_env)
                    continue
                digest = hash_token(value)
            assert digest is not None  # noqa: S101 - the settings validator demands one of the two
            self.tokens[digest] = (tok.name, tok.role)
        self.limiter = LoginLimiter(settings.login_attempts, settings.login_window_seconds)

    def check_password(self, name: str, password: str) -> Principal | None:
        user = self.users.get(name)
        try:
            HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        return Principal(user.name, user.role, secrets.token_urlsafe(24))

    def check_token(self, token: str) -> Principal | None:
        digest = hash_token(token)
        for known, (name, role) in self.tokens.items():
            if hmac.compare_digest(known, digest):
                return Principal(name, role)
        return None

    def session_cookie(self, who: Principal) -> str:
        return self.serializer.dumps({"u": who.name, "c": who.csrf})

    def from_cookie(self, cookie: str | None) -> Principal | None:
        if not cookie:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=int(self.settings.session_hours * 3600))
        except BadSignature:  # also SignatureExpired: an old session is no session
            return None
        user = self.users.get(data.get("u", "")) if isinstance(data, dict) else None
        if user is None:  # removed from the config since: the cookie no longer opens anything
            return None
        return Principal(user.name, user.role, str(data.get("c", "")))


class LoginLimiter:
    """At most ``attempts`` failed log-ins per key (user name, client address) within ``window`` seconds."""

    MAX_KEYS = 10000  # bounded memory under a flood of made-up names

    def __init__(self, attempts: int, window: float):
        self.attempts = attempts
        self.window = window
        self.failures: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self.failures.get(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self.lock:
            return any(len(self._recent(k, now)) >= self.attempts for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self.lock:
            if len(self.failures) >= self.MAX_KEYS:
                self.failures = {k: v for k, v in self.failures.items() if self._recent(k, now)}
            for key in keys:
                times = self._recent(key, now)
                times.append(now)
                self.failures[key] = times

    def succeeded(self, *keys: str) -> None:
        with self.lock:
            for key in keys:
                self.failures.pop(key, None)
