"""One-time company set-up of a fresh Tryton database, run by the Tryton venv's python.

This file is executed as a script by the interpreter of the Tryton virtualenv (it imports
``proteus`` and ``trytond``, which q2c itself does not depend on), after ``trytond-admin``
has activated the modules. It drives Tryton through proteus in-process, with the same
helpers Tryton's own scenario tests use, and prints a JSON object naming the records a
connector needs (company, accounts, journals, ...) so they need not be looked up by name.

Usage: python tryton_setup.py CONFIG_FILE DATABASE
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

COMPANY_NAME = "Q2C Local Company"
CURRENCY = "USD"
WARRANTY_ATTRIBUTE = "warranty_months"


def _calendar_fiscal_year(year: int, company: Any) -> Any:
    from trytond.modules.account.tests.tools import (  # type: ignore[import-not-found]
        create_fiscalyear,
    )
    from trytond.modules.account_invoice.tests.tools import (  # type: ignore[import-not-found]
        set_fiscalyear_invoice_sequences,
    )

    # A whole calendar year (the helper widens the range to +-6 months around the middle),
    # so a database made once serves every day of that year.
    fiscal_year = create_fiscalyear(company, today=(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    fiscal_year = set_fiscalyear_invoice_sequences(fiscal_year)
    fiscal_year.save()
    fiscal_year.click("create_period")
    return fiscal_year


def set_up(config_file: str, database: str) -> dict[str, Any]:
    from proteus import Model  # type: ignore[import-not-found]
    from proteus import config as proteus_config

    # trytond picks its database backend (SQLite, PostgreSQL) from the configuration when
    # its modules are first imported: read the config file before importing any of them.
    config = proteus_config.set_trytond(database=database, config_file=config_file)

    from trytond.modules.account.tests.tools import create_chart, get_accounts
    from trytond.modules.account_invoice.tests.tools import create_payment_term
    from trytond.modules.company.tests.tools import (  # type: ignore[import-not-found]
        create_company,
        get_company,
    )

    party_model = Model.get("party.party")
    company_party = party_model(name=COMPANY_NAME)
    company_party.save()
    create_company(party=company_party, currency=CURRENCY)
    company = get_company()

    user_model = Model.get("res.user")
    employee_party = party_model(name="Q2C Sales Desk")
    employee_party.save()
    employee = Model.get("company.employee")(party=employee_party, company=company)
    employee.save()
    admin = user_model(config.user)
    admin.employees.append(employee)
    admin.employee = employee
    admin.save()
    # Preferences (company, employee) are cached in the proteus context.
    config._context = user_model.get_preferences(True, {})

    # This year and next, so a stack running over New Year still posts invoices.
    this_year = dt.date.today().year
    fiscal_years = [_calendar_fiscal_year(y, company) for y in (this_year, this_year + 1)]

    create_chart(company)
    accounts = get_accounts(company)

    journal_model = Model.get("account.journal")
    (cash_journal,) = journal_model.find([("type", "=", "cash")])
    payment_method = Model.get("account.invoice.payment.method")(
        name="Cash",
        journal=cash_journal,
        credit_account=accounts["cash"],
        debit_account=accounts["cash"],
    )
    payment_method.save()

    payment_term = create_payment_term()
    payment_term.save()
    account_config = Model.get("account.configuration")(1)
    account_config.default_customer_payment_term = payment_term
    account_config.save()

    payment_journal = Model.get("account.payment.journal")(
        name="Manual", process_method="manual", currency=company.currency
    )
    payment_journal.save()

    category = Model.get("product.category")(
        name="Sales",
        accounting=True,
        account_revenue=accounts["revenue"],
        account_expense=accounts["expense"],
    )
    category.save()

    (unit,) = Model.get("product.uom").find([("name", "=", "Unit")])

    # An item's warranty is an attribute of the item (product_attribute): serialized items
    # get the "Warranty" set and their number of months.
    warranty = Model.get("product.attribute")(
        name=WARRANTY_ATTRIBUTE, string="Warranty (months)", type_="integer"
    )
    warranty.save()
    warranty_set = Model.get("product.attribute.set")(name="Warranty")
    warranty_set.attributes.append(warranty)
    warranty_set.save()

    # Subscriptions (sale_subscription) invoiced monthly.
    monthly = Model.get("sale.subscription.recurrence.rule.set")(name="Monthly")
    (rule,) = monthly.rules
    rule.freq = "monthly"
    rule.interval = 1
    monthly.save()

    return {
        "company": company.id,
        "company_party": company_party.id,
        "currency": company.currency.id,
        "currency_code": CURRENCY,
        "employee": employee.id,
        "fiscal_years": {str(fy.start_date.year): fy.id for fy in fiscal_years},
        "accounts": {kind: account.id for kind, account in accounts.items()},
        "invoice_payment_method": payment_method.id,
        "payment_term": payment_term.id,
        "payment_journal": payment_journal.id,
        "account_category": category.id,
        "unit": unit.id,
        "warranty_attribute_set": warranty_set.id,
        "monthly_recurrence": monthly.id,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    result = set_up(argv[1], argv[2])
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
