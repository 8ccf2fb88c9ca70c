"""Tryton's streams are declarations on the modified-since strategy: attributes, no code."""

from __future__ import annotations

import inspect

import pytest

from connectors.tryton.polling import Expand, ModifiedStream, PartyIdentifiers
from connectors.tryton.source import STREAMS, PartyStream, ProductStream


def test_every_stream_is_declared_by_attributes_only() -> None:
    for stream in STREAMS:
        own = {name for name, value in vars(stream).items() if inspect.isfunction(value)}
        assert own == set(), f"{stream.__name__} defines {own}"
        assert stream.name == stream.model
        assert stream.fields
        assert stream.replication_key == "last_modified_at"
    assert [s.name for s in STREAMS if s.reports_deletes] == [
        "party.party",
        "product.product",
        "sale.sale",
    ]
    assert {s.name for s in STREAMS if s.part_of} == {
        "party.address",
        "party.contact_mechanism",
        "party.identifier",
    }


def test_a_declaration_that_cannot_work_is_refused_when_declared() -> None:
    with pytest.raises(TypeError, match="domain"):

        class _Filtered(ProductStream):
            domain = (("salable", "=", True),)

    with pytest.raises(TypeError, match="'lines' among its fields"):

        class _Unread(ModifiedStream):
            name = model = "sale.sale"
            fields = ("number",)
            related = (Expand("lines", "sale.line", ("quantity",)),)

    with pytest.raises(TypeError, match="'party' among its fields"):

        class _NoParty(ModifiedStream):
            name = model = "sale.sale"
            fields = ("number",)
            related = (PartyIdentifiers(into="party_identifiers", party="party"),)

    with pytest.raises(TypeError, match="part of 'party'"):

        class _Orphan(ModifiedStream):
            name = model = "party.address"
            fields = ("street",)
            part_of = ("party", PartyStream)
