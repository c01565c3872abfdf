"""Use cases: load, decide through the domain, save, commit once."""
