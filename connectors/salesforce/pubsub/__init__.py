"""Salesforce's Pub/Sub API (gRPC, package ``eventbus.v1``): the interface, and the Python
modules ``make protos`` generates from it."""
