"""BottleCRM settings for docker-compose.yml: a laptop demonstration, never a deployment.

SQLite on the container's volume, tasks (webhook deliveries included) run in the request
that queued them, and the webhook SSRF guard lets q2c's receiver on the compose network
(a private address, port 8787) through.
"""

import os
from datetime import timedelta

from crm.settings import *  # noqa: F403

SECRET_KEY = os.environ["BOTTLECRM_SECRET_KEY"]
DEBUG = True  # `django-admin devlogin`, which mints q2c's first JWT, needs it
ENV_TYPE = "dev"
ALLOWED_HOSTS = ["bottlecrm", "127.0.0.1", "localhost"]
SIMPLE_JWT = {
    **SIMPLE_JWT,  # noqa: F405
    "SIGNING_KEY": SECRET_KEY,
    "ACCESS_TOKEN_LIFETIME": timedelta(days=30),
}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/var/lib/bottlecrm/db.sqlite3",
        "OPTIONS": {"timeout": 30},
    }
}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
MEDIA_ROOT = "/var/lib/bottlecrm/media"

from webhooks import ssrf as _ssrf  # noqa: E402

_shipped_is_blocked = _ssrf.is_blocked


def _is_blocked(ip):
    return False if ip.is_private or ip.is_loopback else _shipped_is_blocked(ip)


_ssrf.is_blocked = _is_blocked
_ssrf._allowed_ports = lambda: range(1, 65536)
