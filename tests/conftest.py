from importlib.util import find_spec

from connectors import registry

# Each system's local peer (a real server started per session) comes from its own plugin
# module, tests/plugins/<system>.py, when it has one.
_PEER_PLUGINS = [
    f"tests.plugins.{system}"
    for system in registry.systems()
    if find_spec(f"tests.plugins.{system}") is not None
]

pytest_plugins = [
    "tests.plugins.kafka",
    "tests.plugins.faults",
    *_PEER_PLUGINS,
    "tests.plugins.worker",
    "tests.plugins.otlp",
]
