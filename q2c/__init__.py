"""q2c runtime: settings, CLI, telemetry and the local development stack."""

__version__ = "0.1.0"
