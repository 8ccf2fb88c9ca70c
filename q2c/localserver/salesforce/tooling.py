"""The Tooling API's custom fields (Tooling API Developer Guide, "CustomField"): ``POST
/services/data/vXX.X/tooling/sobjects/CustomField`` with ``FullName`` (``Account.Foo__c``)
and ``Metadata`` (the Metadata API's CustomField: ``type``, ``label``, ``length``,
``precision``, ``scale``, ``externalId``, ``unique``, ``required``, ``valueSet``) adds the
field to the object: describe lists it, SOQL selects and filters on it, writes set it.
``GET tooling/query?q=SELECT … FROM CustomField`` lists them (``DeveloperName`` is the name
without ``__c``, ``TableEnumOrId`` the object)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from .errors import SalesforceError
from .query import Record, parse_soql
from .rest import Api, sf_json
from .schema import FieldDef
from .values import format_datetime

_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\.([A-Za-z](?:[A-Za-z0-9]|_(?!_))*)__c$")

# Metadata API field type → (describe type, default length).
_TYPES: dict[str, tuple[str, int]] = {
    "Text": ("string", 255),
    "TextArea": ("textarea", 255),
    "LongTextArea": ("textarea", 32768),
    "Email": ("email", 80),
    "Phone": ("phone", 40),
    "Url": ("url", 255),
    "Picklist": ("picklist", 255),
    "Checkbox": ("boolean", 0),
    "Number": ("double", 0),
    "Currency": ("currency", 0),
    "Percent": ("percent", 0),
    "Date": ("date", 0),
    "DateTime": ("datetime", 0),
}


class Tooling:
    def __init__(self, api: Api) -> None:
        self.api = api

    def routes(self) -> list[web.RouteDef]:
        base = r"/services/data/{version:v\d+\.\d}/tooling"
        return [
            web.post(base + "/sobjects/CustomField{slash:/?}", self.create_field),
            web.get(base + "/query{slash:/?}", self.query),
        ]

    async def create_field(self, request: web.Request) -> web.Response:
        body = await self.api.body(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must be an object")
        full_name = str(body.get("FullName", ""))
        metadata = body.get("Metadata")
        match = _NAME.match(full_name)
        if match is None or not isinstance(metadata, dict):
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                "FullName must be Object.Name__c and Metadata an object",
                ["FullName"],
            )
        sobject = self.api.sobject(match.group(1))
        developer_name = match.group(2)
        if sobject.field(developer_name + "__c") is not None:
            raise SalesforceError(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a field named {developer_name} on {sobject.name}.",
            )
        kind = str(metadata.get("type", ""))
        if kind not in _TYPES:
            raise SalesforceError(
                400, "FIELD_INTEGRITY_EXCEPTION", f"Unsupported custom field type: {kind}"
            )
        describe_type, default_length = _TYPES[kind]
        picklist: tuple[str, ...] = ()
        restricted = False
        if kind == "Picklist":
            # ``valueSet`` since API 38.0; ``picklist`` before.
            value_set = metadata.get("valueSet") or {}
            values = (value_set.get("valueSetDefinition") or {}).get("value")
            if values is None:
                values = (metadata.get("picklist") or {}).get("picklistValues") or []
            picklist = tuple(str(v.get("fullName")) for v in values if isinstance(v, dict))
            restricted = bool(value_set.get("restricted", False))
        definition = FieldDef(
            name=developer_name + "__c",
            type=describe_type,
            label=str(metadata.get("label") or developer_name),
            length=int(metadata.get("length") or default_length),
            nillable=not bool(metadata.get("required", False)),
            external_id=bool(metadata.get("externalId", False)),
            unique=bool(metadata.get("unique", False)),
            custom=True,
            precision=int(metadata.get("precision") or 0),
            scale=int(metadata.get("scale") or 0),
            picklist=picklist,
            restricted_picklist=restricted,
        )
        now = format_datetime(self.api.store.now())
        field_id = self.api.store.add_custom_field(
            sobject.name,
            definition,
            {
                "DeveloperName": developer_name,
                "TableEnumOrId": sobject.name,
                "FullName": f"{sobject.name}.{definition.name}",
                "NamespacePrefix": None,
                "Description": metadata.get("description"),
                "Length": definition.length or None,
                "CreatedDate": now,
                "LastModifiedDate": now,
            },
        )
        return sf_json(
            {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []}, 201
        )

    async def query(self, request: web.Request) -> web.Response:
        version = request.match_info["version"][1:]
        soql = request.query.get("q")
        if not soql:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        query = parse_soql(soql)
        target = self.api.store.custom_field_object
        if query.sobject.lower() != target.name.lower():
            raise SalesforceError(
                400, "INVALID_TYPE", f"sObject type '{query.sobject}' is not supported."
            )
        engine = self.api.engine(version, include_deleted=False)
        engine.url = lambda s, i: f"/services/data/v{version}/tooling/sobjects/{s}/{i}"
        engine.objects = lambda name: target if name.lower() == target.name.lower() else None

        def no_children(child: str, field: str, parent: str) -> Iterable[Record]:
            del child, field, parent
            return ()

        records: list[dict[str, Any]] = engine.run(
            query, target, list(self.api.store.custom_fields.values()), no_children
        )
        return sf_json(
            {
                "size": len(records),
                "totalSize": len(records),
                "done": True,
                "queryLocator": None,
                "entityTypeName": target.name,
                "records": records,
            }
        )
