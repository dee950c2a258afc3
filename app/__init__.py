"""Scenario Studio entry points: the CLI and the web app."""
