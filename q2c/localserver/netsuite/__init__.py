"""The local NetSuite server: SuiteTalk REST web services on 127.0.0.1 — token-based
authentication (OAuth 1.0a, HMAC-SHA256) and OAuth 2.0 client credentials (certificate-signed
JWT), SuiteQL, the REST record service, asynchronous jobs with idempotency keys and the
account-wide concurrency limit — over a SQLite store in a state directory. See README.md in
this package for what it implements against which documentation page."""
