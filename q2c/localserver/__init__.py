"""Local servers of the SaaS systems q2c connects to, written from their vendors' published
API documentation: the same endpoints, status codes, paging, limits, error bodies and wire
formats, on this machine. `q2c dev up --crm salesforce` / `--erp netsuite` run them, and the
tests run the connectors against them, so a connector talks to the real service unchanged."""
