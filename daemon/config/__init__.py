"""Settings of the daemon, one module per section, validated at load."""

from daemon.config.loader import ConfigError, load_settings
from daemon.config.settings import Settings

__all__ = ["ConfigError", "Settings", "load_settings"]
