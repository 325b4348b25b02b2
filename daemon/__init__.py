"""maskwatch daemon: settings, command line, process supervision, health and metrics."""
