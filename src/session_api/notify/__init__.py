"""Adapters the relay uses: e-mail (SMTP or .eml), messages, iCalendar invites, webhooks."""
