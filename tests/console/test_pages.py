"""The console's pure parts: deal rows as reconcile joins them, dead-letter filters from a
query, overview counts, and pages that escape every value they show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from q2c.console import pages
from q2c.console.deals import NOT_REPORTED, deal_rows
from q2c.console.markup import Markup, h, url
from q2c.console.overview import CursorMark, LetterCounts, age, freshness, letter_counts
from q2c.console.routes import letter_filter, safe_next
from q2c.console.service import Overview, Report
from q2c.deadletter_views import Letter, select
from schemas import DeadLetter, MessageOrigin
from schemas.decisions import DeadLetterResolution, LetterAction
from streams.rules.reconcile import Snapshot, SyncMark, reconcile
from streams.rules.triggers import OrderTrigger
from tests.streams.factories import customer, item, line, quote
from tests.streams.rules.test_reconcile import order

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script>'


def _letter(ident: str, stage: str, reason: str, hours_ago: float = 0) -> Letter:
    record = DeadLetter.of(
        payload=b'{"name": "<b>bold</b>"}',
        error=ValueError(reason),
        stage=stage,
        failed_at=AT - timedelta(hours=hours_ago),
        origin=MessageOrigin(topic="q2c.raw.tryton", partition=0, offset=5),
        key=b"party.party/5",
    )
    return Letter(ident, AT - timedelta(hours=hours_ago), record)


def _snapshots() -> tuple[Snapshot, Snapshot]:
    w = line(1, "W-1", "1", "100")
    crm = Snapshot(
        customers=[customer()],
        items=[item()],
        quotes=[
            quote(w, crm_id="ok"),
            quote(w, crm_id="bad"),
            quote(w, crm_id="held"),
            quote(w, crm_id="open", stage="PROSPECTING"),
            quote(w, crm_id="new"),
        ],
        orders=[],
        marks={
            "ok": SyncMark("synced"),
            "bad": SyncMark("rejected", f"item G-404 {EVIL} has to exist in the ERP"),
            "held": SyncMark("pending_approval", "discount 20% beyond policy"),
        },
    )
    erp = Snapshot(customers=[customer(erp_id="42")], items=[item()], quotes=[], orders=[])
    erp.orders.append(order("ok", w, erp_id="7"))
    return crm, erp


def test_won_deals_come_with_status_reason_and_order_and_what_needs_an_operator_first() -> None:
    crm, erp = _snapshots()
    rows = deal_rows(crm, erp, OrderTrigger())
    assert [(r.deal, r.status, r.orders) for r in rows] == [
        ("bad", "rejected", ()),
        ("held", "pending_approval", ()),
        ("new", NOT_REPORTED, ()),
        ("ok", "synced", ("SO-7 (processing)",)),
    ]
    assert [r.deal for r in rows if r.rejected] == ["bad"]
    assert [r.deal for r in rows if r.held] == ["held"]


def test_the_deals_page_escapes_reasons_and_offers_retry_and_decisions() -> None:
    crm, erp = _snapshots()
    page = pages.deals(deal_rows(crm, erp, OrderTrigger()), message=f"error: {EVIL}")
    assert EVIL not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert f'action="{url("deals/bad/retry")}"' in page
    assert f'action="{url("deals/held/approve")}"' in page
    assert f'action="{url("deals/held/decline")}"' in page
    assert 'action="/q2c/console/deals/ok/' not in page
    assert 'class="note error"' in page


def test_dead_letter_filters_come_from_the_query() -> None:
    letters = [
        _letter("0:1", "sink.tryton", "the ERP refused: no unit", 3),
        _letter("0:2", "normalize.bottlecrm", "line 1 has no product", 2),
        _letter("0:3", "sink.tryton", "timeout", 1),
    ]
    handled = {
        "0:3": DeadLetterResolution(
            letter_id="0:3", action=LetterAction.RESOLVED, actor="ana", note="n", at=AT
        )
    }
    by_stage = letter_filter({"stage": "sink", "reason": ""})
    assert [x.id for x in select(letters, handled, by_stage)] == ["0:1"]
    everything = letter_filter({"stage": "sink", "all": "1"})
    assert [x.id for x in select(letters, handled, everything)] == ["0:1", "0:3"]
    by_reason = letter_filter({"reason": "  NO PRODUCT "})
    assert [x.id for x in select(letters, handled, by_reason)] == ["0:2"]
    page = pages.letters(select(letters, handled, everything), handled, everything)
    assert 'value="sink"' in page
    assert " checked" in page
    assert "resolved by ana" in page


def test_a_dead_letter_page_shows_its_payload_escaped_with_retry_and_resolve() -> None:
    shown = _letter("0:7", "sink.tryton", f"refused {EVIL}")
    page = pages.letter(shown, None, "q2c.dead-letter")
    assert EVIL not in page
    assert "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert f'action="{url("dead-letters/0:7/retry")}"' in page
    assert f'action="{url("dead-letters/0:7/resolve")}"' in page


def test_overview_counts_letters_by_age_and_open_ones() -> None:
    letters = [
        _letter("0:1", "s", "r", 0.5),
        _letter("0:2", "s", "r", 5),
        _letter("0:3", "s", "r", 30),
    ]
    handled = {
        "0:1": DeadLetterResolution(
            letter_id="0:1", action=LetterAction.RETRIED, actor="ana", note="", at=AT
        )
    }
    assert letter_counts(letters, handled, AT) == LetterCounts(last_hour=1, last_day=2, open=2)
    marks = [
        CursorMark("tryton", "sale.sale", "c2", AT - timedelta(minutes=3)),
        CursorMark("tryton", "party.party", "c1", AT - timedelta(minutes=9)),
    ]
    fresh = freshness(marks, ["bottlecrm", "tryton"])
    assert [(f.system, f.newest) for f in fresh] == [
        ("bottlecrm", None),
        ("tryton", AT - timedelta(minutes=3)),
    ]
    assert age(AT - timedelta(minutes=3), AT) == "3 min ago"
    view = Overview(AT, fresh, {"q2c": {"q2c.changes": 4}}, letter_counts(letters, handled, AT), [])
    page = pages.overview(view)
    assert "(no cursor recorded)" in page
    assert "3 min ago" in page
    assert "q2c.changes" in page


def test_the_reconciliation_page_shows_each_section() -> None:
    crm, erp = _snapshots()
    assert "No reconciliation has run" in pages.reconciliation(None)
    result = reconcile(crm, erp, OrderTrigger(), "EUR")
    page = pages.reconciliation(Report(AT, ("crm", crm), ("erp", erp), result))
    for heading in ("rejected (1)", "held (1)", "waiting (0)"):
        assert heading in page
    assert EVIL not in page
    assert "missing-order" in page  # "new": won, no status, no sale


def test_escaping_and_where_sign_in_may_lead() -> None:
    assert h(EVIL) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    assert h(Markup("<b>")) == "<b>"
    assert url("deals/a b/retry") == "/q2c/console/deals/a%20b/retry"
    assert safe_next("/q2c/console/deals") == "/q2c/console/deals"
    for elsewhere in ("https://evil.example/", "//evil.example/q2c/console/", "/table/", None):
        assert safe_next(elsewhere) == "/q2c/console/"
    form = pages.login("That is not the admin token.", f'/q2c/console/"{EVIL}')
    assert EVIL not in form
    assert 'name="token"' in form
