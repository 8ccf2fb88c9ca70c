"""The console's pages, rendered from what :mod:`q2c.console.service` returns. Pure: no I/O,
every value escaped (see :mod:`q2c.console.markup`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from q2c.console.deals import DealRow
from q2c.console.markup import (
    PREFIX,
    Markup,
    document,
    field,
    form,
    h,
    join,
    link,
    note,
    table,
    url,
)
from q2c.console.overview import SyncWindow, age
from q2c.console.service import Overview, Report
from q2c.deadletter_views import Letter, LetterFilter, describe, one_line, retry_refusal
from q2c.reconcile_report import SECTION_TITLES, summary
from schemas.decisions import DeadLetterResolution
from streams.rules.reconcile import Section

_WHEN = "%Y-%m-%d %H:%M:%S"


def _when(at: datetime | None) -> str:
    return at.strftime(_WHEN) + " UTC" if at is not None else "never"


def login(message: str, next_page: str, can_sign_in: bool = True) -> Markup:
    """The sign-in form (or, when the console is off, why)."""
    if not can_sign_in:
        body = Markup(f'<p class="note error" role="alert">{h(message)}</p>')
        return document("Console off", body, signed_in=False)
    shown = Markup(f'<p class="note error" role="alert">{h(message)}</p>') if message else ""
    body = Markup(
        f"{shown}<p>The console needs the admin token (the worker's "
        "<code>Q2C_WORKER__ADMIN_TOKEN</code>).</p>"
        f'<form method="post" action="{h(PREFIX)}/login">'
        f'<input type="hidden" name="next" value="{h(next_page)}">'
        '<label>Admin token <input type="password" name="token" aria-label="Admin token"'
        ' autocomplete="current-password" required autofocus></label> '
        "<button>Sign in</button></form>"
    )
    return document("Sign in", body, signed_in=False)


def unavailable(message: str) -> Markup:
    """A page whose data could not be read (a peer or the broker did not answer)."""
    return document("Not available", join([note(message), Markup("<p>Reload to try again.</p>")]))


def _span(window: SyncWindow) -> str:
    hours = int(window.span.total_seconds()) // 3600
    return "Last hour" if hours == 1 else "Last day" if hours == 24 else f"Last {hours} h"


def _rate(window: SyncWindow) -> str:
    rate = window.error_rate
    return "n/a" if rate is None else f"{rate:.1%}"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def sync_table(windows: Sequence[SyncWindow]) -> Markup:
    return table(
        ["Window", "Results", "Failed", "Error rate", "Latency p50", "Latency p95"],
        [
            [_span(w), w.results, w.failed, _rate(w), _seconds(w.p50), _seconds(w.p95)]
            for w in windows
        ],
        "",
    )


def overview(view: Overview, message: str | None = None) -> Markup:
    fresh = table(
        ["System", "Newest cursor move", "Stream", "Cursor", "Moved at"],
        [
            [f.system, age(f.newest, view.at), m.stream, m.cursor, _when(m.saved_at)]
            for f in view.freshness
            for m in f.streams
        ]
        + [
            [f.system, "never", "(no cursor recorded)", "", ""]
            for f in view.freshness
            if not f.streams
        ],
        "No source has stored a cursor yet.",
    )
    lags = table(
        ["Consumer group", "Topic", "Messages behind"],
        [
            [group, topic, behind]
            for group, per_topic in sorted(view.lags.items())
            for topic, behind in sorted(per_topic.items())
        ],
        "No q2c consumer group has committed offsets yet.",
    )
    counts = view.letters
    letters = table(
        ["Last hour", "Last day", "Open (not retried or resolved)"],
        [[counts.last_hour, counts.last_day, link(url("dead-letters"), counts.open)]],
        "",
    )
    body = join(
        [
            note(message),
            Markup(f"<p>As of {h(_when(view.at))}.</p>"),
            Markup("<h2>Freshness</h2>"),
            Markup("<p>When each source last moved its cursor past new changes.</p>"),
            fresh,
            Markup("<h2>Consumer lag</h2>"),
            lags,
            Markup("<h2>Sync</h2>"),
            Markup(
                "<p>Commands the sinks finished, and their latency from the source change "
                "to applied (over the results that carry their source time).</p>"
            ),
            sync_table(view.sync),
            Markup("<h2>Dead letters</h2>"),
            letters,
        ]
    )
    return document("Overview", body, "overview")


def _deal_actions(row: DealRow) -> Markup:
    base = f"deals/{row.deal}"
    if row.held:
        return join(
            [
                form(url(f"{base}/approve"), "Approve", field("actor", "Approved by")),
                form(
                    url(f"{base}/decline"),
                    "Decline",
                    field("actor", "Declined by"),
                    field("reason", "Reason", required=False),
                ),
            ]
        )
    if row.rejected:
        return form(url(f"{base}/retry"), "Retry")
    return Markup("")


def deals(rows: Sequence[DealRow], message: str | None = None) -> Markup:
    listing = table(
        ["Deal", "Account", "Total", "Status", "Reason", "ERP order", "Action"],
        [
            [
                row.deal,
                row.account,
                row.total,
                Markup(f'<span class="status-{h(row.status)}">{h(row.status)}</span>'),
                row.reason,
                ", ".join(row.orders) or "none",
                _deal_actions(row),
            ]
            for row in rows
        ],
        "No won deal in the CRM.",
    )
    intro = Markup(
        "<p>Every won deal, read from the CRM and the ERP now. Retry reads a rejected deal "
        "again as the CRM has it and sends it through the sync (fix its cause first).</p>"
    )
    return document("Deals", join([note(message), intro, listing]), "deals")


def _state(resolution: DeadLetterResolution | None) -> str:
    if resolution is None:
        return "open"
    return f"{resolution.action} by {resolution.actor}"


def letters(
    found: Sequence[Letter],
    handled: Mapping[str, DeadLetterResolution],
    rule: LetterFilter,
    message: str | None = None,
) -> Markup:
    checked = " checked" if rule.include_handled else ""
    filters = Markup(
        f'<form method="get" action="{h(url("dead-letters"))}">'
        f"{field('stage', 'Stage starts with', rule.stage or '', required=False)} "
        f"{field('reason', 'Reason contains', rule.reason or '', required=False)} "
        f'<label><input type="checkbox" name="all" value="1"{checked}> retried and resolved '
        "too</label> <button>Filter</button></form>"
    )
    listing = table(
        ["ID", "When (UTC)", "Stage", "Error", "State", "Reason"],
        [
            [
                link(url(f"dead-letters/{letter.id}"), letter.id),
                letter.when.strftime(_WHEN),
                letter.stage,
                letter.error_class,
                _state(handled.get(letter.id)),
                one_line(letter.reason),
            ]
            for letter in found
        ],
        "No dead letter matches.",
    )
    return document("Dead letters", join([note(message), filters, listing]), "dead-letters")


def letter(
    shown: Letter,
    resolution: DeadLetterResolution | None,
    topic: str,
    message: str | None = None,
) -> Markup:
    details = Markup(f"<pre>{h(chr(10).join(describe(shown, resolution, topic)))}</pre>")
    refusal = retry_refusal(shown)
    base = f"dead-letters/{shown.id}"
    retry = (
        Markup(f"<p>Cannot be retried: {h(refusal)}</p>")
        if refusal is not None
        else form(url(f"{base}/retry"), "Retry", field("actor", "Retried by"))
    )
    resolve = form(
        url(f"{base}/resolve"),
        "Resolve",
        field("actor", "Resolved by"),
        field("note", "Note"),
    )
    actions = join(
        [
            Markup(
                "<h2>Send it again</h2><p>Publishes the message, with its key, to the topic "
                "it was first read from.</p>"
            ),
            retry,
            Markup("<h2>Resolve</h2><p>Marks it dealt with; nothing is sent.</p>"),
            resolve,
        ]
    )
    back = Markup(f"<p>{link(url('dead-letters'), '← all open dead letters')}</p>")
    return document(
        f"Dead letter {shown.id}", join([note(message), back, details, actions]), "dead-letters"
    )


def _verdict(report: Report) -> str:
    result = report.result
    if not result.clean:
        return f"{len(result.discrepancies)} unexplained discrepancies"
    return "No discrepancy" + (" (every difference is explained)" if result.explained else "")


def reconciliation(report: Report | None, message: str | None = None) -> Markup:
    run = form(url("reconcile/run"), "Run now")
    if report is None:
        body = join(
            [
                note(message),
                Markup("<p>No reconciliation has run since the worker started.</p>"),
                run,
            ]
        )
        return document("Reconciliation", body, "reconcile")
    result = report.result
    parts: list[object] = [
        note(message),
        Markup(f"<p>Last run {h(_when(report.at))}: {h(summary(report.crm, report.erp))}.</p>"),
        run,
        Markup(
            "<p><strong>"
            + (
                "No discrepancy" + (" (every difference is explained)" if result.explained else "")
                if result.clean
                else f"{len(result.discrepancies)} unexplained discrepancies"
            )
            + "</strong></p>"
        ),
    ]
    for section in Section:
        members = [e for e in result.explained if e.section is section]
        parts.append(Markup(f"<h2>{h(section)} ({len(members)})</h2>"))
        parts.append(Markup(f"<p>{h(SECTION_TITLES[section])}</p>"))
        parts.append(
            table(
                ["Deal", "Reason"],
                [[e.record, e.reason or "(no reason given)"] for e in members],
                "None.",
            )
        )
    parts.append(Markup(f"<h2>discrepancies ({len(result.discrepancies)})</h2>"))
    parts.append(
        table(
            ["Kind", "Record", "Detail"],
            [[d.kind, d.record, d.detail] for d in result.discrepancies],
            "None.",
        )
    )
    return document("Reconciliation", join(parts), "reconcile")
