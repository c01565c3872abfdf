"""Reminders before sessions: claim the ones that have come and write their events.

Each lead time is one bucket, walked in slices of `batch` open sessions by start: per slice,
one `INSERT … SELECT` claims the reminders that have come and records them (sent or
skipped), and the same transaction writes a
`session.reminder_due` event per sent one into the outbox; the relay's fan-out then mails
both people and feeds webhooks and the event feed, as for any other event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from session_api.db.repositories.events import NewEvent
from session_api.db.repositories.reminders import DueReminder
from session_api.domain.events import EventType
from session_api.domain.reminders import reminder_window
from session_api.services.changes import session_event
from session_api.services.context import Context

# Sessions looked at per transaction: large enough that 100,000 due reminders take few round
# trips, small enough that one transaction never holds many locks for long.
CLAIM_BATCH = 2000


@dataclass(frozen=True)
class ReminderReport:
    """What one planning pass did."""

    sent: int = 0
    skipped: int = 0


async def claim_reminders(
    ctx: Context, now: datetime, *, batch: int = CLAIM_BATCH
) -> ReminderReport:
    """Claim every reminder that has come by `now`, batch by batch, each batch committed."""
    async with ctx.reading() as uow:
        programs_by_hours = await uow.reminders.lead_times()
    sent = skipped = 0
    for lead_hours, program_ids in sorted(programs_by_hours.items()):
        window = reminder_window(lead_hours, now)
        after = None
        while True:
            async with ctx.writing() as uow:
                through = await uow.reminders.batch_end(window, after=after, size=batch)
                claimed = await uow.reminders.claim(
                    window, program_ids, after=after, through=through
                )
                await uow.events.record_many([_reminder_event(due, now) for due in claimed.due])
                await uow.commit()
            sent += len(claimed.due)
            skipped += claimed.skipped
            if through is None:
                break
            after = through
    return ReminderReport(sent=sent, skipped=skipped)


def _reminder_event(due: DueReminder, now: datetime) -> NewEvent:
    return session_event(
        EventType.SESSION_REMINDER_DUE,
        session_id=due.session_id,
        coachee_id=due.coachee_id,
        occurred_at=now,
        status=due.status,
        starts_at=due.starts_at,
        ends_at=due.ends_at,
        month=due.month,
        lead_hours=due.lead_hours,
    )
