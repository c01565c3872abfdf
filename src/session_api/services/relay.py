"""The outbox relay (a use case): fan events out into deliveries, then send what is due.

It orchestrates the adapters in `notify/` (mailer, messages, webhooks, iCalendar); nothing in
`notify/` imports the services.

One pass (`relay_once`) has three steps, each in short transactions:

0. Reminders: claim the reminders that have come (`services.reminders`); each one sent is a
   `session.reminder_due` event in the outbox, so the next two steps deliver it.
1. Dispatch: claim undispatched events in id order (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
   the write lock on SQLite), insert one delivery per recipient, and give each event its feed
   position, all in one transaction, so every event is fanned out exactly once.
2. Deliver: lease due deliveries (count the attempt, push `next_attempt_at` past the lease,
   commit), send them with no transaction open, then record each result. A relay that dies
   while sending leaves the lease to run out, and the delivery is sent again: receivers
   deduplicate by the event id (`webhook-id`, and the e-mail's `Message-ID`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from email.message import EmailMessage

import httpx

from session_api.config import Settings
from session_api.db.engine import build_engine
from session_api.db.repositories.calendars import SessionInvite
from session_api.db.repositories.outbox import (
    ClaimedEvent,
    DeliveryOutcome,
    DueDelivery,
    NewDelivery,
)
from session_api.db.repositories.webhooks import WebhookChanges, WebhookTarget
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain.events import EventType
from session_api.domain.reminders import still_applies
from session_api.notify.mailers import SendFailure, mailer_for
from session_api.notify.messages import EVENT_TYPES as EMAIL_EVENT_TYPES
from session_api.notify.messages import Recipient, compose
from session_api.notify.webhooks import (
    Subscription,
    WebhookGone,
    event_body,
    http_client,
    post_event,
    receives,
    signing_secrets,
)
from session_api.services.calendars import invite_session
from session_api.services.context import Context
from session_api.services.notifications import public_event
from session_api.services.reminders import ReminderReport, claim_reminders

log = logging.getLogger("session_api.worker")

EMAIL = "email"
WEBHOOK = "webhook"
# Webhook receivers served at once; each receiver still gets its events one after another.
WEBHOOK_CONCURRENCY = 8
_jitter = random.SystemRandom()


@dataclass(frozen=True)
class RelayReport:
    """What one pass did."""

    dispatched: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    # Reminders that came: written to the outbox, or skipped as too late.
    reminded: int = 0
    reminders_skipped: int = 0

    def __add__(self, other: RelayReport) -> RelayReport:
        return RelayReport(
            **{
                field.name: getattr(self, field.name) + getattr(other, field.name)
                for field in fields(RelayReport)
            }
        )

    @property
    def idle(self) -> bool:
        """Whether the pass found nothing to do."""
        return self == RelayReport()


@dataclass(frozen=True)
class _Outcome:
    delivery: DueDelivery
    failure: SendFailure | None


@dataclass(frozen=True)
class _MailJob:
    delivery: DueDelivery
    message: EmailMessage
    name: str


@dataclass(frozen=True)
class _WebhookJob:
    delivery: DueDelivery
    url: str
    secrets: list[str]
    body: bytes


def fan_out(
    event: ClaimedEvent, subscriptions: Sequence[Subscription], now: datetime
) -> list[NewDelivery]:
    """The deliveries of one event: e-mail to both people, one per matching subscription.

    Session events e-mail the coach and the coachee, except sessions an admin backfilled
    from another system (history import must not mail people about the past). Month
    events (`coachee.month_full`, `coachee.month_available`) only go to webhooks and the feed.
    A subscription gets only events that occurred once it existed.
    """
    destinations: list[tuple[str, str]] = []
    if (
        event.type in EMAIL_EVENT_TYPES
        and event.coach_id is not None
        and not event.data.get("backfill")
    ):
        destinations.append((EMAIL, f"coach:{event.coach_id}"))
        destinations.append((EMAIL, f"coachee:{event.coachee_id}"))
    for subscription in subscriptions:
        if receives(subscription, event.type, event.occurred_at):
            destinations.append((WEBHOOK, str(subscription.id)))
    return [
        NewDelivery(event.id, channel, destination, next_attempt_at=now, created_at=now)
        for channel, destination in destinations
    ]


def retry_delay(
    attempts: int, *, first_seconds: float, max_seconds: float, rand: random.Random = _jitter
) -> timedelta:
    """Exponential backoff with jitter: half the doubled delay fixed, half random.

    The random half spreads retries of a batch that failed together (a restarted server is
    not hit by all of them at once); the fixed half keeps the delay from collapsing to zero.
    """
    ceiling = min(max_seconds, first_seconds * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling / 2 + rand.uniform(0, ceiling / 2))


async def relay_once(
    ctx: Context, settings: Settings, *, now: datetime | None = None, reminders: bool = True
) -> RelayReport:
    """Claim the reminders that have come, dispatch every event, attempt every due delivery.

    `now` pins the clock for the whole pass (tests move it instead of sleeping);
    `reminders=False` leaves the reminders for a later pass.
    """
    clock: Callable[[], datetime] = ctx.now if now is None else (lambda: now)
    # Reminders first: the events they write are fanned out and sent in this same pass.
    came = await claim_reminders(ctx, clock()) if reminders else ReminderReport()
    report = RelayReport(
        reminded=came.sent,
        reminders_skipped=came.skipped,
        dispatched=await dispatch_events(ctx, settings, clock()),
    )
    async with http_client(settings.webhook_timeout_seconds) as client:
        while (batch := await _deliver_batch(ctx, settings, clock, client)) is not None:
            report += batch
    return report


async def dispatch_events(ctx: Context, settings: Settings, now: datetime) -> int:
    """Fan out undispatched events, batch by batch; how many were dispatched."""
    total = 0
    while True:
        async with ctx.writing() as uow:
            claimed = await uow.outbox.claim_undispatched(settings.worker_batch_size)
            if not claimed:
                return total
            subscriptions = await uow.webhooks.active()
            await uow.outbox.add_deliveries(
                [row for event in claimed for row in fan_out(event, subscriptions, now)]
            )
            await uow.outbox.publish([event.id for event in claimed], now)
            await uow.commit()
        total += len(claimed)
        if len(claimed) < settings.worker_batch_size:
            return total


async def run_worker(ctx: Context, settings: Settings, *, stop: asyncio.Event) -> None:
    """Relay until `stop` is set, resting between passes that found nothing to do.

    Reminders are claimed every `reminder_interval_seconds`, not on every pass: each claim
    walks the open sessions within every lead time, and a reminder is hours ahead anyway.
    """
    reminders_at: datetime | None = None
    while not stop.is_set():
        started = ctx.now()
        with_reminders = reminders_at is None or started >= reminders_at
        try:
            report = await relay_once(ctx, settings, reminders=with_reminders)
            if with_reminders:
                reminders_at = started + timedelta(seconds=settings.reminder_interval_seconds)
        except Exception:
            # A database or network outage must not end the worker; the next pass retries.
            log.exception("relay pass failed")
            report = RelayReport()
        else:
            if settings.worker_heartbeat_file is not None:
                settings.worker_heartbeat_file.touch()
        if not report.idle:
            log.info("relay: %s", report)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.worker_poll_seconds)


async def run_from_settings(settings: Settings, *, once: bool) -> RelayReport | None:
    """The `session-api worker` process: one pass with `once`, else until SIGINT/SIGTERM."""
    engine = build_engine(settings.database_url, pool_size=settings.database_pool_size)
    ctx = Context(engine=engine)
    try:
        if once:
            return await relay_once(ctx, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            # Finish the pass in hand, then stop; a lease left behind would delay its sends.
            loop.add_signal_handler(stop_signal, stop.set)
        await run_worker(ctx, settings, stop=stop)
        return None
    finally:
        await engine.dispose()


async def _deliver_batch(
    ctx: Context,
    settings: Settings,
    clock: Callable[[], datetime],
    client: httpx.AsyncClient,
) -> RelayReport | None:
    """Lease, send and settle one batch of due deliveries; None when nothing is due."""
    now = clock()
    async with ctx.writing() as uow:
        claimed = await uow.outbox.claim_due(
            now=now,
            limit=settings.worker_batch_size,
            lease_until=now + timedelta(seconds=settings.delivery_lease_seconds),
        )
        if not claimed:
            return None
        sessions = await uow.calendars.invites(
            list({d.event.session_id for d in claimed if d.channel == EMAIL and d.event.session_id})
        )
        subscription_ids = {_subscription_id(d) for d in claimed if d.channel == WEBHOOK}
        subscriptions = await uow.webhooks.by_ids([id_ for id_ in subscription_ids if id_])
        await uow.commit()
    # Composing e-mail is CPU work (5 to 10 ms a message): it runs with no transaction open
    # (on SQLite one would hold the write lock) and off the event loop.
    mails, webhooks, outcomes = await asyncio.to_thread(
        _prepare, claimed, sessions, subscriptions, settings, now
    )
    sent = await asyncio.gather(
        _send_mails(mails, settings),
        _send_webhooks(webhooks, client, clock, settings.webhook_allow_private_targets),
    )
    outcomes += [outcome for group in sent for outcome in group]
    async with ctx.writing() as uow:
        report = await _settle(uow, outcomes, settings, clock())
        await uow.commit()
    return report


def _prepare(
    claimed: Sequence[DueDelivery],
    sessions: dict[uuid.UUID, SessionInvite],
    subscriptions: dict[uuid.UUID, WebhookTarget],
    settings: Settings,
    now: datetime,
) -> tuple[list[_MailJob], list[_WebhookJob], list[_Outcome]]:
    """Render each claimed delivery; the ones that cannot be sent fail here."""
    mails: list[_MailJob] = []
    webhooks: list[_WebhookJob] = []
    outcomes: list[_Outcome] = []
    for delivery in claimed:
        try:
            if delivery.channel == EMAIL:
                event = delivery.event
                session = None if event.session_id is None else sessions.get(event.session_id)
                mails.append(_mail_job(delivery, session, settings, now))
            elif delivery.channel == WEBHOOK:
                webhooks.append(_webhook_job(delivery, subscriptions, now))
            else:
                raise SendFailure(f"unknown channel {delivery.channel!r}", permanent=True)
        except SendFailure as failure:
            outcomes.append(_Outcome(delivery, failure))
        except Exception as error:
            # One message that cannot be rendered must not hold up the queue behind it.
            log.exception("cannot render delivery %s", delivery.id)
            unrenderable = SendFailure(f"cannot render the message: {error!r}", permanent=True)
            outcomes.append(_Outcome(delivery, unrenderable))
    return mails, webhooks, outcomes


def _mail_job(
    delivery: DueDelivery, session: SessionInvite | None, settings: Settings, now: datetime
) -> _MailJob:
    if session is None:
        raise SendFailure("the session no longer exists", permanent=True)
    role = delivery.destination.partition(":")[0]
    if role == "coach":
        recipient = Recipient(session.coach_name, session.coach_email, session.coach_timezone)
    elif role == "coachee":
        recipient = Recipient(session.coachee_name, session.coachee_email, session.coachee_timezone)
    else:
        raise SendFailure(f"unknown recipient {delivery.destination!r}", permanent=True)
    if delivery.event.type == EventType.SESSION_REMINDER_DUE and not still_applies(
        session.status, session.starts_at, datetime.fromisoformat(delivery.event.data["starts_at"])
    ):
        raise SendFailure(
            "the session was moved or cancelled after its reminder came", permanent=True
        )
    previous = delivery.event.data.get("previous_starts_at")
    message = compose(
        delivery.event.type,
        # The session as it is now: a late mail never shows a time that has since changed.
        invite_session(session),
        recipient,
        previous_starts_at=datetime.fromisoformat(previous) if previous else None,
        message=delivery.event.data.get("message"),
        mail_from=settings.mail_from,
        sent_at=now,
    )
    # Stable across resends of this message, so mail clients can drop a duplicate.
    domain = str(message["Message-ID"]).rstrip(">").rpartition("@")[2]
    message.replace_header("Message-ID", f"<{delivery.event.event_id}.{role}@{domain}>")
    return _MailJob(delivery, message, name=f"{delivery.event.event_id}-{role}")


def _subscription_id(delivery: DueDelivery) -> uuid.UUID | None:
    try:
        return uuid.UUID(delivery.destination)
    except ValueError:
        return None


def _webhook_job(
    delivery: DueDelivery, subscriptions: dict[uuid.UUID, WebhookTarget], now: datetime
) -> _WebhookJob:
    subscription_id = _subscription_id(delivery)
    subscription = None if subscription_id is None else subscriptions.get(subscription_id)
    if subscription is None:
        raise SendFailure("the webhook subscription was deleted", permanent=True)
    if not subscription.active:
        raise SendFailure(
            f"the webhook subscription is disabled: {subscription.disabled_reason}",
            permanent=True,
        )
    secrets = signing_secrets(subscription, now)
    body = event_body(public_event(delivery.event))
    return _WebhookJob(delivery, subscription.url, secrets, body)


async def _send_mails(jobs: Sequence[_MailJob], settings: Settings) -> list[_Outcome]:
    """Send over one connection; once the server is unreachable the rest wait for a retry."""
    outcomes: list[_Outcome] = []
    if not jobs:
        return outcomes
    unreachable: SendFailure | None = None
    async with mailer_for(settings) as mailer:
        for job in jobs:
            if unreachable is not None:
                outcomes.append(_Outcome(job.delivery, unreachable))
                continue
            try:
                await mailer.send(job.message, name=job.name)
            except SendFailure as failure:
                outcomes.append(_Outcome(job.delivery, failure))
                if failure.unreachable:
                    unreachable = failure
            else:
                outcomes.append(_Outcome(job.delivery, None))
    return outcomes


async def _send_webhooks(
    jobs: Sequence[_WebhookJob],
    client: httpx.AsyncClient,
    clock: Callable[[], datetime],
    allow_private_targets: bool,
) -> list[_Outcome]:
    """Each subscription's events in order; several subscriptions at once."""
    by_subscription: dict[str, list[_WebhookJob]] = {}
    for job in jobs:
        by_subscription.setdefault(job.delivery.destination, []).append(job)
    slots = asyncio.Semaphore(WEBHOOK_CONCURRENCY)

    async def send_in_order(queue: list[_WebhookJob]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        unreachable: SendFailure | None = None
        async with slots:
            for job in queue:
                if unreachable is not None:
                    outcomes.append(_Outcome(job.delivery, unreachable))
                    continue
                try:
                    await post_event(
                        client,
                        job.url,
                        job.secrets,
                        msg_id=str(job.delivery.event.event_id),
                        timestamp=int(clock().timestamp()),
                        body=job.body,
                        allow_private_targets=allow_private_targets,
                    )
                except SendFailure as failure:
                    outcomes.append(_Outcome(job.delivery, failure))
                    if failure.unreachable:
                        unreachable = failure
                else:
                    outcomes.append(_Outcome(job.delivery, None))
        return outcomes

    groups = await asyncio.gather(*(send_in_order(queue) for queue in by_subscription.values()))
    return [outcome for group in groups for outcome in group]


async def _settle(
    uow: UnitOfWork, outcomes: Sequence[_Outcome], settings: Settings, now: datetime
) -> RelayReport:
    """Record each attempt: delivered, failed for good, or pending again after a backoff."""
    give_up_after = timedelta(seconds=settings.delivery_give_up_after_seconds)
    settled: list[DeliveryOutcome] = []
    gone: dict[str, str] = {}
    delivered = retrying = failed = 0
    for outcome in outcomes:
        delivery, failure = outcome.delivery, outcome.failure
        attempts = delivery.attempts + 1
        deadline = delivery.created_at + give_up_after
        if failure is None:
            settled.append(DeliveryOutcome(delivery.id, attempts, "delivered", now, None, now))
            delivered += 1
            continue
        state, next_attempt_at, error = "failed", now, failure.reason
        if failure.permanent:
            failed += 1
            if isinstance(failure, WebhookGone):
                gone[delivery.destination] = failure.reason
        elif attempts >= settings.delivery_max_attempts:
            error = f"gave up after {attempts} attempts; last: {failure.reason}"
            failed += 1
        elif now >= deadline:
            error = f"gave up after {give_up_after} without success; last: {failure.reason}"
            failed += 1
        else:
            delay = retry_delay(
                attempts,
                first_seconds=settings.delivery_retry_first_seconds,
                max_seconds=settings.delivery_retry_max_seconds,
            )
            # The last try lands on the deadline rather than being skipped.
            state, next_attempt_at = "pending", min(now + delay, deadline)
            retrying += 1
        settled.append(
            DeliveryOutcome(delivery.id, attempts, state, next_attempt_at, error[:2000], None)
        )
    await uow.outbox.settle(settled)
    for subscription_id, reason in gone.items():
        disabled = f"{reason} on {now.isoformat()}; re-enable with PATCH active=true"
        await uow.webhooks.change(
            uuid.UUID(subscription_id),
            WebhookChanges(active=False, disabled_reason=disabled, updated_at=now),
        )
        await uow.outbox.fail_pending_webhooks(
            subscription_id, f"the webhook subscription was disabled: {reason}"
        )
    return RelayReport(delivered=delivered, retrying=retrying, failed=failed)
