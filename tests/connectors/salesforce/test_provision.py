"""The custom fields q2c writes, as setup creates them and as an administrator is told to."""

from __future__ import annotations

from connectors.base import ConnectorError, ErrorKind
from connectors.salesforce.provision import field_specs, refused
from connectors.salesforce.settings import WriteBackFields


def test_every_write_back_field_is_defined_once_on_its_object() -> None:
    names = WriteBackFields(order_number="Order_No__c")
    specs = field_specs(names)
    assert len({s.full_name for s in specs}) == len(specs)
    written = {
        ("Opportunity", names.order_number),
        ("Opportunity", names.sync_status),
        ("Account", names.customer_code),
        ("Account", names.outstanding_balance),
        ("Product2", names.item_code),
    }
    assert written <= {(s.obj, s.name) for s in specs}


def test_what_an_administrator_is_told_to_create() -> None:
    lines = {s.full_name: s.describe() for s in field_specs(WriteBackFields())}
    assert lines["Opportunity.ERP_Order_Number__c"] == (
        "Opportunity.ERP_Order_Number__c: Text(80), label 'ERP order number'"
    )
    assert lines["Account.ERP_Outstanding_Balance__c"] == (
        "Account.ERP_Outstanding_Balance__c: Number(18, 2), label 'ERP outstanding balance'"
    )
    assert lines["Account.ERP_Customer_Code__c"] == (
        "Account.ERP_Customer_Code__c: Text(80), External ID, Unique, label 'ERP customer code'"
    )
    assert lines["Opportunity.ERP_Last_Payment_Date__c"].endswith(
        ": Date, label 'ERP last payment date'"
    )


def test_a_user_who_may_not_define_fields_is_told_apart_from_a_refused_field() -> None:
    denied = ConnectorError(ErrorKind.FATAL, "INSUFFICIENT_ACCESS: no", status=400)
    assert refused(denied)
    assert refused(ConnectorError(ErrorKind.FATAL, "the credentials are not allowed", status=403))
    assert not refused(ConnectorError(ErrorKind.SKIPPABLE, "DUPLICATE_DEVELOPER_NAME", status=400))
