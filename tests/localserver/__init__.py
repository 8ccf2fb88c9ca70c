"""Tests of the local servers of the SaaS systems."""
