"""People and their sessions in the portal: roles on one application, the sessions
a person has open, and the rule that local accounts have a second factor."""
