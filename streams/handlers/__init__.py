"""What the sync does with each message, as pure functions from (state, message) to
(new state, commands, audit records, reference updates). The Faust agents in
:mod:`streams.agents` load the state from tables, call these, and write the results."""
