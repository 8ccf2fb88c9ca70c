"""How the BottleCRM sink makes a renewal deal: its stage, and the lines a deal made
earlier (a create cut short) still lacks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.base import ConnectorError, ErrorKind
from connectors.bottlecrm.fields import DEAL_FIELDS, RENEWAL_KEY, RENEWAL_OF
from connectors.bottlecrm.models import DealStage, LineItem, LineItemInput
from connectors.bottlecrm.sink import missing_lines, renewal_stage


def present(product: str | None, quantity: str, price: str, name: str = "") -> LineItem:
    return LineItem.model_validate(
        {
            "id": f"li-{product}-{quantity}",
            "product": {"id": product, "name": "P"} if product else None,
            "name": name,
            "quantity": quantity,
            "unit_price": price,
            "subtotal": "0",
            "total": "0",
        }
    )


def wanted(
    product: str | None, quantity: str, price: str, name: str | None = None
) -> LineItemInput:
    fields: dict[str, object] = {"quantity": Decimal(quantity), "unit_price": Decimal(price)}
    fields |= {"product_id": product} if product else {"name": name}
    return LineItemInput.model_validate(fields)


def test_only_the_lines_the_deal_lacks_are_added() -> None:
    lines = [wanted("p-1", "12", "22"), wanted("p-1", "12", "22"), wanted(None, "1", "5", "Setup")]
    assert missing_lines([], lines) == lines
    have = [present("p-1", "12.00", "22.00")]
    assert missing_lines(have, lines) == lines[1:]  # each line present counts once
    have += [present("p-1", "12.00", "22.00"), present(None, "1.00", "5.00", "Setup")]
    assert missing_lines(have, lines) == []
    # Another price is another line.
    assert missing_lines(have, [wanted("p-1", "12", "20")]) == [wanted("p-1", "12", "20")]


def test_the_stage_is_the_configured_one_or_prospecting() -> None:
    assert renewal_stage(None) is DealStage.PROSPECTING
    assert renewal_stage("qualification") is DealStage.QUALIFICATION
    with pytest.raises(ConnectorError) as refused:
        renewal_stage("Renewal")
    assert refused.value.kind is ErrorKind.SKIPPABLE
    assert "not a BottleCRM deal stage" in refused.value.reason


def test_the_renewal_marks_are_custom_fields_q2c_defines() -> None:
    keys = {spec.key for spec in DEAL_FIELDS}
    assert {RENEWAL_KEY, RENEWAL_OF} <= keys
