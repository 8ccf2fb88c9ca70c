from importlib.util import find_spec

import pytest

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


# The longest modules first: `make test` spreads whole modules over its pytest processes in
# collection order (--no-loadscope-reorder), so the many short ones fill the end of the run
# instead of one long end-to-end module running alone there.
_LONGEST_FIRST = (
    "tests/e2e/test_salesforce_kill.py",
    "tests/e2e/test_broker_restart.py",
    "tests/streams/test_worker_kill.py",
    "tests/deploy/test_k8s_rehearsal.py",
    "tests/e2e/test_kill_worker.py",
    "tests/integration/peers/test_source_kill.py",
    "tests/e2e/test_console.py",
    "tests/e2e/test_salesforce_quote_to_cash.py",
    "tests/e2e/test_quote_to_cash.py",
    "tests/e2e/test_fulfilment.py",
)
_DIRECTORIES_FIRST = (
    "tests/e2e/",
    "tests/deploy/",
    "tests/integration/",
    "tests/streams/",
    "tests/connectors/",
    "tests/console/",
)


def _weight(item: pytest.Item) -> tuple[int, int]:
    path = item.nodeid.split("::", 1)[0]
    if path in _LONGEST_FIRST:
        return (0, _LONGEST_FIRST.index(path))
    for rank, directory in enumerate(_DIRECTORIES_FIRST):
        if path.startswith(directory):
            return (1, rank)
    return (2, 0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_weight)  # stable: a module's tests keep their order
