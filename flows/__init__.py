"""Prefect flows, one per file. Importing this package sets kume's Prefect defaults first:
a project-local PREFECT_HOME, telemetry and analytics off (the variables can still be
overridden from the environment)."""

from kume.prefect_env import configure_prefect

configure_prefect()
