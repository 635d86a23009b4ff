"""The domain model; importing this package registers every table on Base.metadata."""

from portal.models.api_token import ApiToken, TokenScope
from portal.models.audit import AuditEvent
from portal.models.base import Base, utcnow
from portal.models.branding import BRANDING_ROW_ID, Branding
from portal.models.image import IMAGE_CONTENT_TYPES, StoredImage
from portal.models.import_preview import ImportPreview
from portal.models.institution import Institution
from portal.models.load_policy import LoadPolicy
from portal.models.milestone import (
    DEFAULT_MILESTONE_PLANS,
    DueState,
    Milestone,
    MilestoneExtension,
    MilestonePlanItem,
    MilestoneStatus,
    ReminderDigest,
)
from portal.models.person import Person
from portal.models.position import DepartureReason, Position, PositionStatus
from portal.models.program import DEFAULT_PROGRAMS, Program, ProgramKind
from portal.models.publication import Publication, PublicationAuthor
from portal.models.submission_key import SubmissionKey
from portal.models.supervision import (
    Supervision,
    SupervisionRole,
    SupervisionState,
    is_proposal,
)
from portal.models.user import User

__all__ = [
    "DEFAULT_MILESTONE_PLANS",
    "BRANDING_ROW_ID",
    "DEFAULT_PROGRAMS",
    "IMAGE_CONTENT_TYPES",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Branding",
    "DepartureReason",
    "DueState",
    "ImportPreview",
    "Institution",
    "LoadPolicy",
    "Milestone",
    "MilestoneExtension",
    "MilestonePlanItem",
    "MilestoneStatus",
    "Person",
    "Position",
    "PositionStatus",
    "Program",
    "ProgramKind",
    "Publication",
    "PublicationAuthor",
    "ReminderDigest",
    "StoredImage",
    "SubmissionKey",
    "Supervision",
    "SupervisionRole",
    "SupervisionState",
    "is_proposal",
    "TokenScope",
    "User",
    "utcnow",
]
