"""NetSuite, the ERP: SuiteQL change tracking, REST record writes, TBA and OAuth 2.0 M2M."""
