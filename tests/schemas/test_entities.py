from decimal import Decimal

import pytest
from pydantic import ValidationError

import schemas as s
from tests.schemas.samples import AT, eur, invoice, lines, quote


def test_external_ids_need_one_side() -> None:
    assert s.ExternalIds(erp_id="17").crm_id is None
    with pytest.raises(ValidationError, match="at least one of crm_id and erp_id"):
        s.ExternalIds()


def test_a_document_in_one_currency_only() -> None:
    data = quote().model_dump()
    data["total"] = {"amount": "1", "currency": "USD"}
    with pytest.raises(ValidationError, match="quote has an amount in USD, not EUR"):
        s.Quote.model_validate(data)
    data = invoice().model_dump()
    data["lines"][1]["unit_price"]["currency"] = "GBP"
    with pytest.raises(ValidationError, match="line 2 has an amount in GBP"):
        s.Invoice.model_validate(data)


def test_line_numbers_are_unique() -> None:
    twice = lines(1) + lines(1)
    with pytest.raises(ValidationError, match="line numbers must be unique"):
        quote().model_copy(update={"lines": twice}).model_validate(
            {**quote().model_dump(), "lines": [ln.model_dump() for ln in twice]}
        )


def test_discount_is_a_percentage() -> None:
    line = lines(1)[0].model_dump()
    for bad in ("-1", "100.01"):
        with pytest.raises(ValidationError, match="discount_percent"):
            s.DocumentLine.model_validate({**line, "discount_percent": bad})


def test_a_payment_cannot_apply_more_than_it_pays() -> None:
    applications = [
        {"invoice": {"erp_id": "a"}, "amount": {"amount": "60", "currency": "EUR"}},
        {"invoice": {"erp_id": "b"}, "amount": {"amount": "40.01", "currency": "EUR"}},
    ]
    with pytest.raises(ValidationError, match=r"applications total 100\.01"):
        s.Payment.model_validate(
            {
                "ids": {"erp_id": "p"},
                "customer": {"crm_id": "c"},
                "amount": {"amount": "100", "currency": "EUR"},
                "received_on": "2026-11-20",
                "applications": applications,
                "updated_at": AT,
            }
        )


def test_item_prices_per_book_and_currency() -> None:
    usd = s.Money(amount=Decimal("21.50"), currency="USD")
    item = s.Item(
        ids=s.ExternalIds(erp_id="1"),
        sku="W",
        name="Widget",
        prices=(
            s.PriceBookPrice(unit_price=eur("19.90")),
            s.PriceBookPrice(unit_price=eur("18.00"), min_quantity=Decimal(10)),
            s.PriceBookPrice(price_book="partner", unit_price=usd),
        ),
        updated_at=AT,
    )
    assert item.price("EUR") == eur("19.90")
    assert item.price("USD") is None
    assert item.price("USD", "partner") == usd
    with pytest.raises(ValidationError, match="two prices for price book 'standard' in EUR"):
        s.Item.model_validate(
            {**item.model_dump(), "prices": [{"unit_price": eur("1")}, {"unit_price": eur("2")}]}
        )


def test_contracts_are_frozen_and_closed() -> None:
    q = quote()
    with pytest.raises(ValidationError, match="frozen"):
        q.number = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        s.Quote.model_validate({**q.model_dump(), "colour": "red"})
