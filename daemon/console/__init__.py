"""The web console and HTTP API over the violation history (issue 23)."""
