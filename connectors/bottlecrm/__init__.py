"""BottleCRM (PyPI ``django-crm``): the CRM side of q2c, over its REST API."""

from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.settings import BottleCrmSettings

# BottleCRM's personal access tokens, masked wherever q2c writes text people read.
SECRET_PATTERNS: tuple[tuple[str, str], ...] = ((r"bcrm_pat_[A-Za-z0-9_-]+", "bcrm_pat_***"),)

__all__ = ["SECRET_PATTERNS", "BottleCrmClient", "BottleCrmSettings"]
