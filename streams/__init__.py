"""The Faust stream processors of q2c: topics, tables and agents, with the pure rule logic
beside the wiring."""
