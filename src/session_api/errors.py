"""One error hierarchy: every refusal carries its HTTP status and a stable `code`."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal the API reports as an RFC 9457 problem."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class ValidationProblem(DomainError):
    status = 422
    code = "validation_error"
    title = "The request is not valid"


class InThePast(DomainError):
    status = 422
    code = "in_the_past"
    title = "The time lies in the past"


class OutsideProgram(DomainError):
    status = 422
    code = "outside_program"
    title = "The time lies outside the program"


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    title = "The idempotency key was used with another request"


class IdempotencyKeyInUse(DomainError):
    status = 409
    code = "idempotency_key_in_use"
    title = "A request with this idempotency key is still running"


class MethodNotAllowed(DomainError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    title = "The request body is too large"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class NoMonthWithRoom(DomainError):
    """The coachee exists, but no month of their program has room left (`default-slot`)."""

    status = 404
    code = "no_month_with_room"
    title = "No month has room"


class MonthlyLimitReached(DomainError):
    status = 409
    code = "monthly_limit_reached"
    title = "The monthly limit is reached"


class TimeConflict(DomainError):
    status = 409
    code = "time_conflict"
    title = "The time conflicts with another session"


class OutsideAvailability(DomainError):
    status = 409
    code = "outside_availability"
    title = "The time lies outside the coach's availability"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"
    title = "The session cannot make this change"


class CoacheeInactive(DomainError):
    status = 409
    code = "coachee_inactive"
    title = "The coachee is not active"


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    title = "The resource has changed"


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"
    title = "The service is unavailable"


ALL_ERRORS: tuple[type[DomainError], ...] = (
    ValidationProblem,
    InThePast,
    OutsideProgram,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    MethodNotAllowed,
    PayloadTooLarge,
    Unauthorized,
    Forbidden,
    NotFound,
    NoMonthWithRoom,
    MonthlyLimitReached,
    TimeConflict,
    OutsideAvailability,
    InvalidTransition,
    CoacheeInactive,
    PreconditionFailed,
    ServiceUnavailable,
)
