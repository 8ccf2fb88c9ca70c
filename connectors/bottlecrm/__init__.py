"""BottleCRM (PyPI ``django-crm``): the CRM side of q2c, over its REST API."""

from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.settings import BottleCrmSettings

__all__ = ["BottleCrmClient", "BottleCrmSettings"]
