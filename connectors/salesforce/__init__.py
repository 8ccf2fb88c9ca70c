"""The Salesforce CRM connector."""
