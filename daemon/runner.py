"""The one assembly of the pipeline: which roles, over which transport, in which process.

``maskwatch run`` on the in-process transport hosts all three roles as threads of one
process (the embedded daemon); ``maskwatch reader|infer|events`` host one role each over
Redis, alone or as the supervisor's children.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from config.settings import Settings
from daemon.console.server import ConsoleHandle, start_console
from daemon.host import RoleHost
from daemon.roles import EventsRole, InferenceRole, ReaderRole, Role, reader_cameras
from storage.db import Database
from workers.events import EventStage
from workers.inference import InferenceStage
from workers.reader import CameraReader
from workers.transport import open_transport

log = logging.getLogger("maskwatch.daemon")
ALL_ROLES = ("reader", "infer", "events")


class Daemon(RoleHost):
    """Roles of the pipeline hosted in this process (all three by default: the embedded daemon)."""

    def __init__(
        self,
        settings: Settings,
        roles: Sequence[str] = ALL_ROLES,
        cameras: list[str] | None = None,
        dispatch: bool = True,
    ):
        chosen = reader_cameras(settings, cameras)
        names = [c.name for c in chosen]
        # inference needs no database: an infer-only host (a GPU box) never opens or migrates it
        db = Database(settings.database.url) if "reader" in roles or "events" in roles else None
        transport = open_transport(settings.transport, names)
        parts: list[Role] = []
        if "reader" in roles and db is not None:
            parts.append(ReaderRole(settings, chosen, transport, db))
        if "infer" in roles:
            # inference serves every enabled camera: it reads whatever the readers publish
            parts.append(InferenceRole(settings, reader_cameras(settings, None), transport))
        if "events" in roles and db is not None:
            parts.append(EventsRole(settings, names, transport, db, dispatch, owns_all_cameras=not cameras))
        label = "embedded" if len(parts) == len(ALL_ROLES) else "-".join(r.name for r in parts)
        super().__init__(settings, parts, transport, db, label)
        self.cameras = chosen
        self.console: ConsoleHandle | None = None

    def _role(self, kind: type[Role]) -> Role | None:
        return next((r for r in self.roles if isinstance(r, kind)), None)

    def start(self) -> None:
        super().start()
        if not self.cameras and self._role(ReaderRole) is not None:
            log.warning("no camera is configured and enabled: nothing is being watched")
        events, reader = self._role(EventsRole), self._role(ReaderRole)
        if isinstance(events, EventsRole) and self.db is not None:
            # one desk per deployment: the process whose events role dispatches the alerts
            frames = reader.feed.latest if isinstance(reader, ReaderRole) else None
            # the whole pipeline's health where it all runs here; a role process knows only its own
            health = self.health if self.label == "embedded" else None
            self.console = start_console(self.settings, self.db, health, events.dispatch, frames)

    def shutdown(self, drain_timeout: float = 10.0) -> None:
        if self.console is not None:
            self.console.stop()
        super().shutdown(drain_timeout)

    # what benchmarks and the status page look at
    @property
    def readers(self) -> list[CameraReader]:
        role = self._role(ReaderRole)
        return role.readers if isinstance(role, ReaderRole) else []

    @property
    def frames_dropped(self) -> int:
        role = self._role(ReaderRole)
        return role.frames_dropped if isinstance(role, ReaderRole) else 0

    @property
    def event_stage(self) -> EventStage | None:
        role = self._role(EventsRole)
        return role.stage if isinstance(role, EventsRole) else None

    @property
    def inference_stage(self) -> InferenceStage | None:
        role = self._role(InferenceRole)
        return role.stage if isinstance(role, InferenceRole) else None
