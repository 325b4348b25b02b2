"""The web console and HTTP API: where it listens, who may log in, which tokens the API takes."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.base import Section

Role = Literal["viewer", "reviewer"]
SHA256_HEX = re.compile(r"^sha256:[0-9a-f]{64}$")


class ConsoleUser(Section):
    name: str = Field(title="User name", description="What the user types at the log-in.", min_length=1, max_length=64)
    password_hash: str = Field(
        title="Password hash",
        description="argon2 hash from `maskwatch console hash-password`; the password itself is never stored.",
    )
    role: Role = Field("viewer", title="Role", description="viewer: read only; reviewer: read and review violations.")

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str) -> str:
        if not value.startswith("$argon2"):
            raise ValueError("must be an argon2 hash from `maskwatch console hash-password`, not a password")
        return value


class ApiToken(Section):
    name: str = Field(title="Token name", description="Who holds the token (shown as the reviewer of its reviews).")
    token_hash: str | None = Field(
        None,
        title="Token hash",
        description="'sha256:<hex>' of the token, from `maskwatch console hash-token`.",
    )
    token_env: str | None = Field(
        None,
        title="Token variable",
        description="Name of an environment variable holding the token itself (instead of token_hash).",
    )
    role: Role = Field("viewer", title="Role", description="viewer: read only; reviewer: may POST reviews.")

    @model_validator(mode="after")
    def _one_source(self) -> ApiToken:
        if (self.token_hash is None) == (self.token_env is None):
            raise ValueError("give exactly one of token_hash and token_env")
        if self.token_hash is not None and not SHA256_HEX.match(self.token_hash):
            raise ValueError("token_hash must look like 'sha256:' and 64 hex digits")
        return self


class ConsoleSettings(Section):
    enabled: bool = Field(
        False,
        title="Enabled",
        description="Serve the web console and /api/ from the daemon (`maskwatch run`, or `maskwatch events` "
        "with Redis); `maskwatch console` serves it on its own.",
    )
    host: str = Field("127.0.0.1", title="Host", description="Bind address; loopback unless behind a reverse proxy.")
    port: int = Field(8108, ge=0, le=65535, title="Port", description="HTTP port (0 picks a free one).")
    public_url: str | None = Field(
        None,
        title="Public URL",
        description="How people reach the console (https://desk.example.com/); alerts link their pages and "
        "pictures here. An https URL makes the cookies Secure.",
    )
    users: list[ConsoleUser] = Field(
        [],
        title="Users",
        description="Who may log in. With none, the first start makes an 'admin' reviewer with a generated "
        "password (printed once) and keeps only its hash in first_user_file.",
    )
    first_user_file: str = Field(
        "var/console-admin.json",
        title="First user file",
        description="Where the generated first user's name, role and password hash are kept.",
    )
    api_tokens: list[ApiToken] = Field([], title="API tokens", description="Bearer tokens for /api/.")
    session_secret_env: str = Field(
        "MASKWATCH_CONSOLE_SECRET",
        title="Session secret variable",
        description="Environment variable with the key that signs session cookies; unset, a random key is made "
        "at each start (everyone logs in again after a restart).",
    )
    session_hours: float = Field(12, gt=0, le=24 * 30, title="Session length", description="Hours a log-in lasts.")
    login_attempts: int = Field(
        5, ge=1, title="Log-in attempts", description="Failed log-ins allowed per user name and per address..."
    )
    login_window_seconds: float = Field(300, gt=0, title="Log-in window", description="...within this many seconds.")
    tls_cert: str | None = Field(None, title="TLS certificate", description="PEM certificate to serve https itself.")
    tls_key: str | None = Field(None, title="TLS key", description="PEM private key for tls_cert.")

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            if not re.match(r"^https?://[^/\s]+", value):
                raise ValueError("must start with http:// or https:// and a host")
            return value.rstrip("/")
        return value

    @model_validator(mode="after")
    def _checks(self) -> ConsoleSettings:
        names = [u.name for u in self.users]
        if len(names) != len(set(names)):
            raise ValueError("a console user name is used twice")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        return self
