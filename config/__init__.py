"""Settings of the daemon, one module per section, validated at load."""

from config.loader import ConfigError, load_settings
from config.settings import Settings

__all__ = ["ConfigError", "Settings", "load_settings"]
