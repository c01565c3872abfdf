"""Outbox relay, e-mail with iCalendar invites, webhooks."""
