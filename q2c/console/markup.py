"""HTML built from strings without a template engine: every value is escaped unless it is
:class:`Markup`, HTML this module (or a caller through it) already made safe."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import quote, urlencode

PREFIX = "/q2c/console"

NAV = (
    ("overview", f"{PREFIX}/", "Overview"),
    ("deals", f"{PREFIX}/deals", "Deals"),
    ("dead-letters", f"{PREFIX}/dead-letters", "Dead letters"),
    ("reconcile", f"{PREFIX}/reconcile", "Reconciliation"),
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1d1d1f; }
header { background: #243447; color: #fff; padding: .6rem 1rem; display: flex; gap: 1.2rem;
         align-items: center; }
header a { color: #cfe3ff; text-decoration: none; } header a.here { color: #fff;
         font-weight: bold; }
header form.inline { margin: 0 0 0 auto; }
main { padding: 1rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ccd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef2f7; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; }
.note { background: #fff8d6; border: 1px solid #e5d27a; padding: .5rem; }
.error { background: #ffe3e3; border-color: #e08a8a; }
form.inline { display: inline-flex; gap: .3rem; margin: 0 .3rem .3rem 0; }
.status-synced { color: #186a2f; } .status-rejected { color: #a11d1d; }
.status-pending_approval, .status-waiting { color: #8a5a00; }
"""


class Markup(str):
    """HTML that is safe to insert as it is."""

    __slots__ = ()


def h(value: object) -> Markup:
    """``value`` as HTML: escaped, unless it already is :class:`Markup`."""
    if isinstance(value, Markup):
        return value
    return Markup(escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Markup:
    return Markup(sep.join(h(part) for part in parts))


def url(path: str, **query: str) -> str:
    """A console URL: ``path`` under the console, its segments quoted, and a query."""
    quoted = "/".join(quote(segment, safe=":") for segment in path.split("/"))
    shown = {k: v for k, v in query.items() if v}
    return f"{PREFIX}/{quoted}" + (f"?{urlencode(shown)}" if shown else "")


def link(href: str, text: object) -> Markup:
    return Markup(f'<a href="{h(href)}">{h(text)}</a>')


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> Markup:
    body = ["<tr>" + "".join(f"<td>{h(cell)}</td>" for cell in row) + "</tr>" for row in rows]
    if not body:
        return Markup(f"<p>{h(empty)}</p>")
    head = "".join(f"<th>{h(title)}</th>" for title in headers)
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def field(name: str, label: str, value: str = "", required: bool = True) -> Markup:
    needed = " required" if required else ""
    return Markup(
        f'<label>{h(label)} <input name="{h(name)}" value="{h(value)}"'
        f' aria-label="{h(label)}"{needed}></label>'
    )


def form(action: str, button: str, *fields: Markup, method: str = "post") -> Markup:
    inner = "".join(fields)
    return Markup(
        f'<form class="inline" method="{h(method)}" action="{h(action)}">{inner}'
        f"<button>{h(button)}</button></form>"
    )


def note(text: str | None) -> Markup:
    """The outcome of the last action, shown above a page (an error when it says so)."""
    if not text:
        return Markup("")
    kind = "note error" if text.startswith("error:") else "note"
    return Markup(f'<p class="{kind}" role="status">{h(text)}</p>')


def _nav(here: str) -> Markup:
    items = []
    for key, href, text in NAV:
        current = ' class="here" aria-current="page"' if key == here else ""
        items.append(f'<a href="{h(href)}"{current}>{h(text)}</a>')
    return Markup("".join(items))


def document(title: str, body: Markup, here: str = "", signed_in: bool = True) -> Markup:
    """A whole page: the console's navigation, then ``body``."""
    top = _nav(here) + form(f"{PREFIX}/logout", "Sign out") if signed_in else ""
    return Markup(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{h(title)} · q2c console</title><style>{_STYLE}</style></head>"
        f"<body><header><strong>q2c</strong>{top}</header>"
        f"<main><h1>{h(title)}</h1>{body}</main></body></html>"
    )
