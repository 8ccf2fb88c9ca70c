"""Any request body a client may send is either written or refused with a documented error:
never an unexpected exception, never a half-written record."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from q2c.localserver.salesforce.dml import Writer
from q2c.localserver.salesforce.errors import SalesforceError
from q2c.localserver.salesforce.store import Store, WriteContext

_FIELDS = [
    "Name", "StageName", "CloseDate", "Amount", "AccountId", "Probability", "IsWon",
    "Pricebook2Id", "NumberOfEmployees", "Website", "Colour", "Id", "attributes",
]  # fmt: skip
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.sampled_from(["Closed Won", "2026-02-30", "2026-01-01", "0015g0000000001AAA", "nan"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["Account", "Opportunity", "Contact"]),
    st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=6),
)
def test_any_body_is_written_or_refused(sobject: str, body: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = Store(Path(directory) / "org.sqlite3")
        try:
            writer = Writer(store)
            definition = store.objects[sobject]
            before = len(store.rows)
            outcome: str | SalesforceError
            try:
                with store.transaction(WriteContext(store.integration_user_id)) as tx:
                    outcome = writer.create(tx, definition, body)
            except SalesforceError as error:
                outcome = error
            if isinstance(outcome, SalesforceError):
                assert outcome.status == 400
                assert outcome.error_code.isupper()
                assert len(store.rows) == before
            else:
                assert store.rows[outcome].sobject == sobject
        finally:
            store.close()
