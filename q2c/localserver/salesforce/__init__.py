"""The local Salesforce server: OAuth token endpoint, REST API and Pub/Sub API (gRPC)."""
