"""The business rules of the sync, as pure functions over canonical entities: ownership,
the golden record with echo suppression and conflict detection, order triggers,
validation, and the ERP-to-CRM write-back. No Kafka, no I/O: the agents wire them."""
