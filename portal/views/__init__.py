"""The blade's views: thin functions that check permissions, validate forms,
write configuration and audit events, and enqueue work."""
