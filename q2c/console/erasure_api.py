"""``POST /admin/erase/customer/{id}``: the admin API of `q2c erase customer`, behind the
admin token like every route but health, readiness and metrics.

Query parameters: ``system`` (``crm``, the default, or ``erp``: whose id ``id`` is),
``anonymise`` (``true``/``false``; absent: as ``[sync.erasure]`` says) and ``actor`` (who
asks, for the audit). The answer is the erasure's report as JSON; 404 when q2c holds
nothing of the customer, 400 for a bad parameter, 503 when the broker does not answer.
"""

from __future__ import annotations

from aiohttp import web
from aiokafka.errors import KafkaError

from q2c.core.settings import Settings
from q2c.core.telemetry import redact
from schemas.entities import ExternalIds
from streams.config import SyncConfig
from streams.erasure import UnknownCustomer, erase_customer

ROUTE = "/admin/erase/customer/{id}"
_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def erase_route(settings: Settings, cfg: SyncConfig) -> web.RouteDef:
    async def erase(request: web.Request) -> web.Response:
        record_id = request.match_info["id"]
        system = request.query.get("system", "crm")
        if system not in ("crm", "erp"):
            return web.json_response({"error": "system is crm or erp"}, status=400)
        flag = request.query.get("anonymise")
        if flag is not None and flag.lower() not in _FLAGS:
            return web.json_response({"error": "anonymise is true or false"}, status=400)
        anonymise = None if flag is None else _FLAGS[flag.lower()]
        actor = request.query.get("actor", "").strip() or "admin api"
        ids = ExternalIds(crm_id=record_id) if system == "crm" else ExternalIds(erp_id=record_id)
        roles = cfg.erasure.roles(anonymise, anonymise)
        try:
            report = await erase_customer(settings, cfg, ids, actor, roles)
        except UnknownCustomer as exc:
            return web.json_response({"error": str(exc)}, status=404)
        except (KafkaError, OSError) as exc:
            reason = f"not done, the broker did not answer: {redact(str(exc))}"
            return web.json_response({"error": reason}, status=503)
        return web.json_response(report.as_json())

    return web.post(ROUTE, erase)
