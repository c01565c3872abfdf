"""Request and response bodies, kept apart from the tables."""
