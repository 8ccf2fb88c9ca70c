"""The objects the local org has, with their documented standard fields (Object Reference
for the Salesforce Platform: Account, Contact, Opportunity, OpportunityLineItem, Product2,
Pricebook2, PricebookEntry, User, and Quote and QuoteLineItem where quotes are enabled),
the system fields every object has, the key prefixes of
their ids, and the custom fields the Tooling API adds. Field names are case-insensitive in
SOQL and in request bodies, as on the platform; responses use the canonical spelling."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# Opportunity stages of a new org: name → (probability, closed, won, forecast category).
STAGES: dict[str, tuple[int, bool, bool, str]] = {
    "Prospecting": (10, False, False, "Pipeline"),
    "Qualification": (10, False, False, "Pipeline"),
    "Needs Analysis": (20, False, False, "Pipeline"),
    "Value Proposition": (50, False, False, "Pipeline"),
    "Id. Decision Makers": (60, False, False, "Pipeline"),
    "Perception Analysis": (70, False, False, "Pipeline"),
    "Proposal/Price Quote": (75, False, False, "Pipeline"),
    "Negotiation/Review": (90, False, False, "Commit"),
    "Closed Won": (100, True, True, "Closed"),
    "Closed Lost": (0, True, False, "Omitted"),
}

QUOTE_STATUSES = (
    "Draft",
    "Needs Review",
    "In Review",
    "Approved",
    "Rejected",
    "Presented",
    "Accepted",
    "Denied",
)
QUOTE_OBJECTS = ("Quote", "QuoteLineItem")
"""Objects an org has only where quotes are enabled (Setup, Quote Settings)."""

NUMERIC_TYPES = frozenset({"double", "currency", "percent", "int"})
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist"})


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    """The describe type: id, string, textarea, email, phone, url, picklist, boolean,
    currency, double, percent, int, date, datetime, reference."""
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()
    restricted_picklist: bool = False
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    precision: int = 0
    scale: int = 0
    id_lookup: bool = False

    @property
    def required(self) -> bool:
        """What REQUIRED_FIELD_MISSING checks on create."""
        return self.createable and not self.nillable and not self.defaulted_on_create

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "length": self.length,
            "precision": self.precision,
            "scale": self.scale,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted_on_create,
            "custom": self.custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.id_lookup or self.external_id or self.name == "Id",
            "calculated": False,
            "filterable": True,
            "sortable": self.type != "textarea",
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "restrictedPicklist": self.restricted_picklist,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": value, "value": value}
                for value in self.picklist
            ],
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
        }


_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


@dataclass(frozen=True)
class ChildRelationship:
    name: str
    """The relationship name a subquery's FROM uses: ``Contacts``, ``OpportunityLineItems``."""
    child: str
    field: str
    """The child's reference field pointing at the parent."""
    cascade_delete: bool = True


@dataclass
class ObjectDef:
    name: str
    label: str
    key_prefix: str
    fields: dict[str, FieldDef]
    children: tuple[ChildRelationship, ...] = ()
    createable: bool = True
    _by_lower: dict[str, FieldDef] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_lower = {name.lower(): f for name, f in self.fields.items()}

    def field(self, name: str) -> FieldDef | None:
        return self._by_lower.get(name.lower())

    def add_field(self, definition: FieldDef) -> None:
        self.fields[definition.name] = definition
        self._by_lower[definition.name.lower()] = definition

    def parent_field(self, relationship: str) -> FieldDef | None:
        """The reference field whose relationship name is ``relationship`` (``Account`` →
        ``AccountId``)."""
        wanted = relationship.lower()
        for definition in self.fields.values():
            if definition.relationship_name and definition.relationship_name.lower() == wanted:
                return definition
        return None

    def child(self, relationship: str) -> ChildRelationship | None:
        wanted = relationship.lower()
        return next((c for c in self.children if c.name.lower() == wanted), None)

    def describe(self, version: str) -> dict[str, object]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label + "s",
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": self.createable,
            "updateable": self.createable,
            "deletable": self.createable,
            "queryable": True,
            "retrieveable": True,
            "replicateable": True,
            "fields": [f.describe() for f in self.fields.values()],
            "childRelationships": [
                {
                    "childSObject": c.child,
                    "field": c.field,
                    "relationshipName": c.name,
                    "cascadeDelete": c.cascade_delete,
                }
                for c in self.children
            ],
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }


def _text(name: str, length: int = 255, **kw: object) -> FieldDef:
    return FieldDef(name, "string", length=length, **kw)  # type: ignore[arg-type]


def _ref(name: str, to: str, relationship: str, **kw: object) -> FieldDef:
    return FieldDef(
        name,
        "reference",
        length=18,
        reference_to=(to,),
        relationship_name=relationship,
        **kw,  # type: ignore[arg-type]
    )


def _read_only(definition: FieldDef) -> FieldDef:
    return replace(definition, createable=False, updateable=False)


def _system_fields() -> list[FieldDef]:
    return [
        FieldDef("Id", "id", length=18, nillable=False, createable=False, updateable=False),
        FieldDef("IsDeleted", "boolean", nillable=False, createable=False, updateable=False),
        _read_only(FieldDef("CreatedDate", "datetime", nillable=False)),
        _read_only(_ref("CreatedById", "User", "CreatedBy", nillable=False)),
        _read_only(FieldDef("LastModifiedDate", "datetime", nillable=False)),
        _read_only(_ref("LastModifiedById", "User", "LastModifiedBy", nillable=False)),
        _read_only(FieldDef("SystemModstamp", "datetime", nillable=False)),
    ]


def _address(prefix: str) -> list[FieldDef]:
    return [
        FieldDef(f"{prefix}Street", "textarea", length=255),
        _text(f"{prefix}City", 40),
        _text(f"{prefix}State", 80),
        _text(f"{prefix}PostalCode", 20),
        _text(f"{prefix}Country", 80),
    ]


def _object(
    name: str,
    prefix: str,
    own: list[FieldDef],
    children: tuple[ChildRelationship, ...] = (),
    label: str = "",
    createable: bool = True,
) -> ObjectDef:
    fields = {f.name: f for f in [*_system_fields()[:1], *own, *_system_fields()[1:]]}
    return ObjectDef(name, label or name, prefix, fields, children, createable)


def standard_objects(*, quotes: bool = True) -> dict[str, ObjectDef]:
    """A fresh copy of the standard objects (custom fields are added to the copy); without
    ``quotes`` the org is one where quotes are not enabled: no Quote or QuoteLineItem, no
    ``Opportunity.SyncedQuoteId``."""
    objects = _standard_objects()
    if not quotes:
        for name in QUOTE_OBJECTS:
            del objects[name]
        opportunity = objects["Opportunity"]
        del opportunity.fields["SyncedQuoteId"]
        opportunity.children = tuple(c for c in opportunity.children if c.child != "Quote")
        opportunity.__post_init__()
    return objects


def _standard_objects() -> dict[str, ObjectDef]:
    owner = _ref("OwnerId", "User", "Owner", defaulted_on_create=True, nillable=False)
    objects = [
        _object(
            "Account",
            "001",
            [
                _text("Name", nillable=False),
                _text("AccountNumber", 40),
                FieldDef(
                    "Type",
                    "picklist",
                    length=255,
                    picklist=(
                        "Prospect",
                        "Customer - Direct",
                        "Customer - Channel",
                        "Channel Partner / Reseller",
                        "Installation Partner",
                        "Technology Partner",
                        "Other",
                    ),
                ),
                FieldDef("Industry", "picklist", length=255),
                FieldDef("Phone", "phone", length=40),
                FieldDef("Fax", "phone", length=40),
                FieldDef("Website", "url", length=255),
                FieldDef("Description", "textarea", length=32000),
                *_address("Billing"),
                *_address("Shipping"),
                FieldDef("AnnualRevenue", "currency", precision=18),
                FieldDef("NumberOfEmployees", "int", precision=8),
                _ref("ParentId", "Account", "Parent"),
                owner,
            ],
            (
                ChildRelationship("Contacts", "Contact", "AccountId"),
                ChildRelationship("Opportunities", "Opportunity", "AccountId"),
                ChildRelationship("ChildAccounts", "Account", "ParentId", cascade_delete=False),
            ),
        ),
        _object(
            "Contact",
            "003",
            [
                _text("FirstName", 40),
                _text("LastName", 80, nillable=False),
                _read_only(_text("Name", 121)),
                FieldDef(
                    "Salutation",
                    "picklist",
                    length=40,
                    picklist=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof."),
                ),
                FieldDef("Email", "email", length=80),
                FieldDef("Phone", "phone", length=40),
                FieldDef("MobilePhone", "phone", length=40),
                _text("Title", 128),
                _text("Department", 80),
                _ref("AccountId", "Account", "Account"),
                *_address("Mailing"),
                FieldDef("Description", "textarea", length=32000),
                owner,
            ],
        ),
        _object(
            "Opportunity",
            "006",
            [
                _text("Name", 120, nillable=False),
                _ref("AccountId", "Account", "Account"),
                FieldDef(
                    "StageName",
                    "picklist",
                    length=255,
                    nillable=False,
                    picklist=tuple(STAGES),
                    restricted_picklist=True,
                ),
                FieldDef("CloseDate", "date", nillable=False),
                FieldDef("Amount", "currency", precision=18, scale=2),
                FieldDef("Probability", "percent", precision=3),
                _read_only(FieldDef("ExpectedRevenue", "currency", precision=18, scale=2)),
                _read_only(FieldDef("IsClosed", "boolean", nillable=False)),
                _read_only(FieldDef("IsWon", "boolean", nillable=False)),
                FieldDef(
                    "ForecastCategoryName",
                    "picklist",
                    length=40,
                    picklist=("Omitted", "Pipeline", "BestCase", "Commit", "Closed"),
                    defaulted_on_create=True,
                ),
                FieldDef(
                    "Type",
                    "picklist",
                    length=255,
                    picklist=(
                        "Existing Customer - Upgrade",
                        "Existing Customer - Replacement",
                        "Existing Customer - Downgrade",
                        "New Customer",
                    ),
                ),
                FieldDef("LeadSource", "picklist", length=255),
                _text("NextStep", 255),
                FieldDef("Description", "textarea", length=32000),
                _ref("Pricebook2Id", "Pricebook2", "Pricebook2"),
                _read_only(FieldDef("HasOpportunityLineItem", "boolean", nillable=False)),
                _ref("SyncedQuoteId", "Quote", "SyncedQuote"),
                owner,
            ],
            (
                ChildRelationship("OpportunityLineItems", "OpportunityLineItem", "OpportunityId"),
                ChildRelationship("Quotes", "Quote", "OpportunityId"),
            ),
        ),
        _object(
            "OpportunityLineItem",
            "00k",
            [
                _ref(
                    "OpportunityId", "Opportunity", "Opportunity", nillable=False, updateable=False
                ),
                _ref("PricebookEntryId", "PricebookEntry", "PricebookEntry", updateable=False),
                _read_only(_ref("Product2Id", "Product2", "Product2")),
                _read_only(_text("Name", 376)),
                _read_only(_text("ProductCode", 255)),
                FieldDef("Quantity", "double", precision=12, scale=2, nillable=False),
                FieldDef("UnitPrice", "currency", precision=18, scale=2),
                _read_only(FieldDef("ListPrice", "currency", precision=18, scale=2)),
                FieldDef("TotalPrice", "currency", precision=18, scale=2),
                _read_only(FieldDef("Subtotal", "currency", precision=18, scale=2)),
                FieldDef("Discount", "percent", precision=18, scale=2),
                FieldDef("ServiceDate", "date"),
                FieldDef("Description", "string", length=255),
                FieldDef("SortOrder", "int"),
            ],
            label="Opportunity Product",
        ),
        _object(
            "Quote",
            "0Q0",
            [
                _text("Name", 255, nillable=False),
                _ref(
                    "OpportunityId", "Opportunity", "Opportunity", nillable=False, updateable=False
                ),
                _read_only(_ref("AccountId", "Account", "Account")),
                _ref("ContactId", "Contact", "Contact"),
                _ref("Pricebook2Id", "Pricebook2", "Pricebook2"),
                _read_only(_text("QuoteNumber", 30)),
                _read_only(FieldDef("IsSyncing", "boolean", nillable=False)),
                FieldDef(
                    "Status",
                    "picklist",
                    length=40,
                    picklist=QUOTE_STATUSES,
                    defaulted_on_create=True,
                ),
                FieldDef("ExpirationDate", "date"),
                FieldDef("Description", "textarea", length=32000),
                FieldDef("Tax", "currency", precision=18, scale=2),
                FieldDef("ShippingHandling", "currency", precision=18, scale=2),
                _read_only(FieldDef("Discount", "percent", precision=18, scale=2)),
                _read_only(FieldDef("Subtotal", "currency", precision=18, scale=2)),
                _read_only(FieldDef("TotalPrice", "currency", precision=18, scale=2)),
                _read_only(FieldDef("GrandTotal", "currency", precision=18, scale=2)),
                _read_only(FieldDef("LineItemCount", "int", precision=8)),
                owner,
            ],
            (ChildRelationship("QuoteLineItems", "QuoteLineItem", "QuoteId"),),
        ),
        _object(
            "QuoteLineItem",
            "0QL",
            [
                _ref("QuoteId", "Quote", "Quote", nillable=False, updateable=False),
                _ref("PricebookEntryId", "PricebookEntry", "PricebookEntry", updateable=False),
                _read_only(_ref("Product2Id", "Product2", "Product2")),
                _read_only(
                    _ref("OpportunityLineItemId", "OpportunityLineItem", "OpportunityLineItem")
                ),
                _read_only(_text("LineNumber", 255)),
                FieldDef("Quantity", "double", precision=12, scale=2, nillable=False),
                FieldDef("UnitPrice", "currency", precision=18, scale=2),
                _read_only(FieldDef("ListPrice", "currency", precision=18, scale=2)),
                _read_only(FieldDef("Subtotal", "currency", precision=18, scale=2)),
                _read_only(FieldDef("TotalPrice", "currency", precision=18, scale=2)),
                FieldDef("Discount", "percent", precision=18, scale=2),
                FieldDef("ServiceDate", "date"),
                FieldDef("Description", "string", length=255),
                FieldDef("SortOrder", "int"),
            ],
            label="Quote Line Item",
        ),
        _object(
            "Product2",
            "01t",
            [
                _text("Name", nillable=False),
                _text("ProductCode", 255),
                FieldDef("Description", "textarea", length=4000),
                FieldDef("IsActive", "boolean", nillable=False, defaulted_on_create=True),
                FieldDef("Family", "picklist", length=40, picklist=("None",)),
                _text("StockKeepingUnit", 180),
                FieldDef("QuantityUnitOfMeasure", "picklist", length=255, picklist=("Each",)),
            ],
            (ChildRelationship("PricebookEntries", "PricebookEntry", "Product2Id"),),
            label="Product",
        ),
        _object(
            "Pricebook2",
            "01s",
            [
                _text("Name", nillable=False),
                FieldDef("IsActive", "boolean", nillable=False, defaulted_on_create=True),
                _read_only(FieldDef("IsStandard", "boolean", nillable=False)),
                _text("Description", 255),
            ],
            (ChildRelationship("PricebookEntries", "PricebookEntry", "Pricebook2Id"),),
            label="Price Book",
        ),
        _object(
            "PricebookEntry",
            "01u",
            [
                _ref("Pricebook2Id", "Pricebook2", "Pricebook2", nillable=False, updateable=False),
                _ref("Product2Id", "Product2", "Product2", nillable=False, updateable=False),
                _read_only(_text("Name", 255)),
                _read_only(_text("ProductCode", 255)),
                FieldDef("UnitPrice", "currency", precision=18, scale=2, nillable=False),
                FieldDef("IsActive", "boolean", nillable=False, defaulted_on_create=True),
                FieldDef("UseStandardPrice", "boolean", nillable=False, defaulted_on_create=True),
            ],
            label="Price Book Entry",
        ),
        _object(
            "User",
            "005",
            [
                _text("Username", 80, nillable=False),
                _text("FirstName", 40),
                _text("LastName", 80, nillable=False),
                _read_only(_text("Name", 121)),
                FieldDef("Email", "email", length=128, nillable=False),
                _text("Alias", 8, nillable=False),
                FieldDef("IsActive", "boolean", nillable=False, defaulted_on_create=True),
            ],
            createable=False,
        ),
    ]
    return {o.name: o for o in objects}


def custom_field_object() -> ObjectDef:
    """The Tooling API's CustomField object, as far as a query listing fields needs."""
    return ObjectDef(
        "CustomField",
        "Custom Field Definition",
        "00N",
        {
            f.name: f
            for f in [
                FieldDef("Id", "id", length=18, nillable=False, createable=False, updateable=False),
                _text("DeveloperName", 40, nillable=False),
                _text("TableEnumOrId", 40, nillable=False),
                _text("FullName", 255),
                _text("NamespacePrefix", 15),
                _text("Description", 255),
                FieldDef("Length", "int"),
                _read_only(FieldDef("CreatedDate", "datetime", nillable=False)),
                _read_only(FieldDef("LastModifiedDate", "datetime", nillable=False)),
            ]
        },
    )
