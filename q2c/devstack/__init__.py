"""The local stack: a real Kafka broker (and, as they are added, the peers and workers),
installed from the package registries and started on loopback ports."""

from q2c.devstack.errors import DevStackError

__all__ = ["DevStackError"]
