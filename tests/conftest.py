pytest_plugins = ["tests.plugins.kafka"]
