"""q2c's foundation: settings, topic names, Kafka access, telemetry and metrics.

Connectors and the stream processors build on these modules; nothing here imports them or the
application around them (the CLI, the dev stack, the console, reconcile and replay).
"""
