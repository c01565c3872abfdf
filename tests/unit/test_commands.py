"""Request bodies become the services' typed commands field by field, by name."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel

from session_api.api.schemas.notifications import WebhookUpdate
from session_api.api.schemas.people import CoachCreate, CoacheeCreate, CoacheeUpdate, CoachUpdate
from session_api.api.schemas.programs import ProgramCreate, ProgramUpdate
from session_api.db.repositories.coachees import CoacheeChanges, NewCoachee
from session_api.db.repositories.coaches import CoachChanges, NewCoach
from session_api.db.repositories.programs import NewProgram, ProgramChanges
from session_api.db.repositories.webhooks import WebhookChanges

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@pytest.mark.parametrize(
    ("body", "command"),
    [(ProgramCreate, NewProgram), (CoachCreate, NewCoach), (CoacheeCreate, NewCoachee)],
)
def test_a_create_body_has_the_fields_of_its_command(
    body: type[BaseModel], command: type[DataclassInstance]
) -> None:
    assert set(body.model_fields) == {field.name for field in fields(command)}


@pytest.mark.parametrize(
    ("body", "changes"),
    [
        (ProgramUpdate, ProgramChanges),
        (CoachUpdate, CoachChanges),
        (CoacheeUpdate, CoacheeChanges),
        (WebhookUpdate, WebhookChanges),
    ],
)
def test_every_field_a_patch_body_can_send_is_one_its_changes_set(
    body: type[BaseModel], changes: type[DataclassInstance]
) -> None:
    assert set(body.model_fields) <= {field.name for field in fields(changes)}
