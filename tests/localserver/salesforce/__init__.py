"""Tests of the local Salesforce server: real HTTP against it, one module per area."""
