"""Salesforce, the CRM: accounts, contacts, opportunities with their line items and the
products of the standard price book, over the REST API (OAuth 2.0 JWT bearer or refresh
token), polled on ``SystemModstamp`` with deletes from ``getDeleted``; the ERP's facts are
written back to custom fields whose API names are settings."""
