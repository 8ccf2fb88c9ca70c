pytest_plugins = [
    "tests.plugins.kafka",
    "tests.plugins.faults",
    "tests.plugins.tryton",
    "tests.plugins.bottlecrm",
    "tests.plugins.worker",
    "tests.plugins.otlp",
]
