"""Synthetic demo data in the shape of an AI institute's faculty page (all names invented)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from portal.auth.operations import set_password
from portal.extensions import db
from portal.loads import load_policy
from portal.milestones import add_months, sync_plan
from portal.models import (
    DepartureReason,
    Institution,
    Milestone,
    Person,
    Position,
    Program,
    Supervision,
    SupervisionRole,
    SupervisionState,
    User,
)
from portal.models.supervision import default_shares
from portal.people.publications import AuthorData, PublicationData, add_publication
from portal.tracking import operations as tracking

UDEM = "Université de Montréal"
MCGILL = "McGill University"
POLY = "Polytechnique Montréal"
CONCORDIA = "Concordia University"
ETH = "ETH Zurich"
WWU = "Western Washington University"

COLLABORATOR_NOTE = "faculty; assistant prof"

PRINCIPAL = SupervisionRole.PRINCIPAL
CO = SupervisionRole.CO_SUPERVISOR
NONE = SupervisionRole.NONE

# (name, program, institution, demo faculty's role, who else supervises, months since start)
# "second" is the second demo faculty; any other string is an external supervisor's name.
CURRENT_GROUP: tuple[tuple[str, str, str | None, SupervisionRole, tuple[str, ...], int], ...] = (
    ("Amélie Bouchard-Nakamura", "PhD", UDEM, PRINCIPAL, (), 40),
    ("Tomás O'Donnell", "PhD", UDEM, PRINCIPAL, ("second",), 30),
    ("Li Wei Fontaine", "PhD", MCGILL, PRINCIPAL, (), 26),
    ("Noémie St-Laurent", "PhD", UDEM, PRINCIPAL, ("second", "Prof. Ingrid Sørensen"), 18),
    ("Kwame Asante-Lévesque", "PhD", POLY, PRINCIPAL, (), 12),
    ("Saoirse D'Arcy", "Master's Research", UDEM, PRINCIPAL, (), 14),
    ("Élodie Marchand (Lodie)", "Master's Research", CONCORDIA, PRINCIPAL, (), 8),
    ("Dr. Rafael Quiñones", "Postdoctorate", UDEM, PRINCIPAL, ("second",), 20),
    ("Dr. Anaïs Kowalczyk", "Postdoctorate", MCGILL, PRINCIPAL, (), 6),
    ("Jean-Philippe Côté", "PhD", MCGILL, CO, ("second",), 44),
    ("Mariam El-Khoury", "PhD", UDEM, CO, ("second",), 36),
    ("Björn Halvorsen", "PhD", ETH, CO, ("Prof. Ingrid Sørensen",), 28),
    ("Priya Raman-Gagnon", "PhD", POLY, CO, ("second",), 22),
    ("Zoë Papadopoulos", "PhD", UDEM, CO, ("second",), 16),
    ("Chidi Okonkwo", "PhD", CONCORDIA, CO, ("Prof. Daniel Ferreira",), 10),
    ("Hugo Lefèvre-Tanaka", "PhD", MCGILL, CO, ("second",), 4),
    ("Inès Benali", "Master's Research", UDEM, CO, ("second",), 15),
    ("Olivier Lapointe", "Master's Research", POLY, CO, ("Prof. Camille Roy",), 11),
    ("Yasmine Haddad", "Master's Research", MCGILL, CO, ("second",), 9),
    ("Mateo García-Núñez", "Master's Research", UDEM, CO, ("Prof. Camille Roy",), 3),
    ("Dr. Ayesha Siddiqui", "Postdoctorate", ETH, CO, ("Prof. Ingrid Sørensen",), 13),
    ("Felix Brandt", "Research Intern", ETH, NONE, (), 2),
    ("Camille Nguyen-Roy", "Research Intern", UDEM, NONE, (), 1),
    ("Dr. Samuel Adeyemi", "Collaborating researcher", WWU, NONE, (), 30),
    ("Prof. Léa Beaulieu", "Collaborating researcher", CONCORDIA, NONE, (), 24),
    # As on the institute page: two entries have no institution ("Collaborating researcher"
    # alone, "Independent visiting researcher" alone).
    ("Dr. Oren Ben-David", "Collaborating researcher", None, NONE, (), 9),
    ("Dr. Astrid Lindqvist", "Independent visiting researcher", ETH, NONE, (), 5),
    ("Dr. Kenji Watanabe", "Independent visiting researcher", None, NONE, (), 2),
    ("Dr. Sofía Castellanos", "Collaborating Alumni", UDEM, NONE, (), 20),
    ("Dr. Gabriel Thibodeau", "Collaborating Alumni", MCGILL, NONE, (), 14),
)

# (name, program, institution, role, months since start, months since end, how they left, outcome)
ALUMNI: tuple[tuple[str, str, str, SupervisionRole, int, int, DepartureReason, str], ...] = (
    (
        "Dr. Maude Archambault",
        "PhD",
        UDEM,
        PRINCIPAL,
        70,
        10,
        DepartureReason.GRADUATED,
        "Postdoc at ETH Zurich",
    ),
    (
        "Dr. Ravi Shankar",
        "Postdoctorate",
        MCGILL,
        PRINCIPAL,
        40,
        14,
        DepartureReason.GRADUATED,
        "Assistant Professor, Concordia University",
    ),
    (
        "Julien Ouellet",
        "Master's Research",
        POLY,
        CO,
        30,
        8,
        DepartureReason.GRADUATED,
        'Research engineer, "Mila"-affiliated start-up',
    ),
    (
        "Clara Vogel",
        "Research Intern",
        ETH,
        NONE,
        14,
        9,
        DepartureReason.COLLABORATION_ENDED,
        "Returned to ETH Zurich",
    ),
)

# The demo faculty's public profile (invented). Authors are matched to group members by name
# ("Rafael Quiñones" is "Dr. Rafael Quiñones" in the group) and marked on the public page.
PROFILE_TITLE = (
    "Associate Professor, Department of Computer Science and Operations Research\n"
    "Chaire de recherche en dynamique neuronale (invented)"
)
PROFILE_BIOGRAPHY = (
    "Hélène Tremblay-Okafor studies how networks of neurons compute, using the tools of "
    "dynamical systems and machine learning. She joined the department in 2015 after a "
    "postdoc at ETH Zurich.\n\n"
    "Her group works on recurrent network models of decision making, on "
    '"slow-fast" dynamics in cortical circuits, and on methods that let experimentalists '
    "fit such models to recordings. (This biography is invented for the demo.)"
)
PROFILE_TOPICS = (
    "Computational Neuroscience",
    "Dynamical Systems",
    "Recurrent Neural Networks",
    "Machine Learning for Science",
)
PUBLICATIONS: tuple[tuple[str, int, str, str, tuple[str, ...]], ...] = (
    (
        "Slow manifolds in recurrent networks trained on evidence accumulation",
        2025,
        "Neural Computation",
        "https://example.org/demo/slow-manifolds",
        ("Amélie Bouchard-Nakamura", "Tomás O'Donnell", "Hélène Tremblay-Okafor"),
    ),
    (
        "Fitting low-rank dynamical models to cortical recordings",
        2024,
        "Advances in Neural Information Processing Systems",
        "https://example.org/demo/low-rank",
        ("Rafael Quiñones", "Li Wei Fontaine", "Marc-André O'Neill", "Hélène Tremblay-Okafor"),
    ),
    (
        "Bifurcations of attractor networks under neuromodulation",
        2023,
        "Journal of Computational Neuroscience",
        "https://example.org/demo/bifurcations",
        ("Jean-Philippe Côté", "Ingrid Sørensen", "Hélène Tremblay-Okafor"),
    ),
    (
        "A tutorial on phase-plane analysis for machine-learning researchers",
        2022,
        "Transactions on Machine Learning Research",
        "",
        ("Hélène Tremblay-Okafor", "Maude Archambault"),
    ),
)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    name: str
    email: str
    password: str


def database_is_empty() -> bool:
    """True when there are no accounts and no people (programs seeded by migrations don't count)."""
    users = db.session.scalar(select(func.count()).select_from(User))
    people = db.session.scalar(select(func.count()).select_from(Person))
    return not users and not people


def _months_ago(today: date, months: int) -> date:
    return today - timedelta(days=round(months * 30.44))


def load_demo_data(today: date | None = None) -> list[DemoLogin]:
    """Create the demo accounts, the demo faculty's group of 30 and a few alumni; return logins."""
    today = today or date.today()
    logins = [
        DemoLogin(
            "faculty",
            "Prof. Hélène Tremblay-Okafor",
            "helene.tremblay@demo.example.org",
            secrets.token_urlsafe(12),
        ),
        DemoLogin(
            "faculty (co-supervises part of the group)",
            "Prof. Marc-André O'Neill",
            "marc-andre.oneill@demo.example.org",
            secrets.token_urlsafe(12),
        ),
        DemoLogin(
            "administrator",
            "Graduate Office",
            "grad-office@demo.example.org",
            secrets.token_urlsafe(12),
        ),
    ]
    faculty, second, _admin = (
        _make_user(login, is_admin=login.role == "administrator") for login in logins
    )
    faculty.department = "Department of Computer Science and Operations Research"
    second.department = "Department of Mathematics and Statistics"
    _set_caps(second)
    programs = {program.name: program for program in db.session.scalars(select(Program))}
    institutions: dict[str, Institution] = {}

    def institution(name: str | None) -> Institution | None:
        if name is None:
            return None  # unknown, as for two entries of the institute page
        if name not in institutions:
            institutions[name] = Institution(name=name)
            db.session.add(institutions[name])
        return institutions[name]

    current: dict[str, Position] = {}
    for name, program, inst, role, others, months in CURRENT_GROUP:
        position = _add_position(
            name, programs[program], institution(inst), _months_ago(today, months), None
        )
        _link_supervisors(position, faculty, role, [second if o == "second" else o for o in others])
        current[name] = position
    # A note on a collaborator, as the institute page has one.
    current["Prof. Léa Beaulieu"].note = COLLABORATOR_NOTE

    for name, program, inst, role, started, ended, reason, outcome in ALUMNI:
        position = _add_position(
            name,
            programs[program],
            institution(inst),
            _months_ago(today, started),
            _months_ago(today, ended),
        )
        position.departure_reason = reason
        position.outcome = outcome
        _link_supervisors(position, faculty, role, [])
    db.session.flush()
    for position in current.values():
        sync_plan(position, today, fresh=True)
    _record_milestones(faculty, current, today)
    _publish_profile(faculty)
    return logins


# What the demo faculty already recorded, so that the group shows milestones in every state:
# (member, milestone, what happened, months after the start it happened or days to move it, why)
DEMO_MILESTONES = (
    ("Amélie Bouchard-Nakamura", "Research plan", "done", 11, None),
    ("Amélie Bouchard-Nakamura", "Qualifying exam", "done", 23, None),
    ("Tomás O'Donnell", "Research plan", "done", 12, None),
    (
        "Tomás O'Donnell",
        "Qualifying exam",
        "waived",
        None,
        "Exempted: passed the qualifying exam of the previous program",
    ),
    ("Tomás O'Donnell", "Thesis proposal", "extend", 21, "Committee member on sabbatical"),
    ("Li Wei Fontaine", "Research plan", "done", 13, None),
    ("Noémie St-Laurent", "Research plan", "done", 12, None),
    ("Kwame Asante-Lévesque", "Research plan", "extend", 12, "Data collection delayed"),
    ("Saoirse D'Arcy", "Research plan", "done", 6, None),
    ("Jean-Philippe Côté", "Research plan", "done", 12, None),
    ("Jean-Philippe Côté", "Qualifying exam", "done", 22, None),
    ("Jean-Philippe Côté", "Thesis proposal", "done", 31, None),
    ("Mariam El-Khoury", "Research plan", "done", 10, None),
    ("Mariam El-Khoury", "Qualifying exam", "done", 24, None),
)


def _record_milestones(faculty: User, current: dict[str, Position], today: date) -> None:
    """Mark the demo's milestones done, waived or moved, through the portal's own operations."""
    milestones = {
        (milestone.position_id, milestone.name_en): milestone
        for milestone in db.session.scalars(
            select(Milestone).where(
                Milestone.position_id.in_([position.id for position in current.values()])
            )
        )
    }
    for member, name, what, number, reason in DEMO_MILESTONES:
        position = current[member]
        milestone = milestones.get((position.id, name))
        if milestone is None:
            continue
        recorder = position.owner or faculty  # the record's owner keeps its milestones
        if what == "done":
            done_on = min(add_months(position.start_date, number), today)
            tracking.mark_done(recorder, milestone, done_on, today)
        elif what == "waived":
            tracking.waive(recorder, milestone, reason)
        else:
            tracking.extend(recorder, milestone, today + timedelta(days=number), reason)


def _publish_profile(faculty: User) -> None:
    """Give the demo faculty a published profile with a few publications by group members."""
    faculty.slug = "helene-tremblay-okafor"
    faculty.title = PROFILE_TITLE
    faculty.biography = PROFILE_BIOGRAPHY
    faculty.research_topics = list(PROFILE_TOPICS)
    faculty.profile_published = True
    for title, year, venue, url, authors in PUBLICATIONS:
        add_publication(
            faculty,
            PublicationData(
                title=title,
                year=year,
                venue=venue,
                url=url or None,
                authors=[AuthorData(name) for name in authors],
            ),
        )
    db.session.flush()


# Caps as an institute with large groups sets them: the demo faculty (9 principal supervisions,
# weighted 1,100 %) is near both; the colleague, whose cap is lowered while they chair the
# department, is one principal supervision over theirs (7 against 6).
DEMO_PRINCIPAL_CAP = 10
DEMO_WEIGHTED_CAP = Decimal("1200")
SECOND_PRINCIPAL_CAP = 6


def _set_caps(second: User) -> None:
    policy = load_policy()
    policy.default_principal_cap = DEMO_PRINCIPAL_CAP
    policy.default_weighted_cap = DEMO_WEIGHTED_CAP
    second.principal_cap = SECOND_PRINCIPAL_CAP


def _make_user(login: DemoLogin, *, is_admin: bool) -> User:
    user = User(email=login.email, display_name=login.name, is_admin=is_admin, is_active=True)
    set_password(user, login.password)
    db.session.add(user)
    return user


def _add_position(
    name: str, program: Program, institution: Institution | None, start: date, end: date | None
) -> Position:
    person = Person(full_name=name)
    position = Position(
        person=person, program=program, institution=institution, start_date=start, end_date=end
    )
    db.session.add(position)
    return position


def _link_supervisors(
    position: Position, faculty: User, role: SupervisionRole, others: list[User | str]
) -> None:
    """Link the demo faculty with `role`; others take the principal seat if it is free.

    Every account link is confirmed (both demo faculty agreed to their co-supervisions), and
    the record is owned by its principal's account, else by the demo faculty who recorded it.
    """
    supervisors: list[tuple[User | str, SupervisionRole]] = [(faculty, role)]
    for other in others:
        taken = any(r == PRINCIPAL for _, r in supervisors)
        supervisors.append((other, CO if taken else PRINCIPAL))
    shares = default_shares([who_role for _, who_role in supervisors])
    principal = next((who for who, who_role in supervisors if who_role == PRINCIPAL), None)
    position.owner = principal if isinstance(principal, User) else faculty
    for (who, who_role), share in zip(supervisors, shares, strict=True):
        link = Supervision(role=who_role, share=share, state=SupervisionState.CONFIRMED)
        if isinstance(who, User):
            link.supervisor = who
        else:
            link.external_name = who
        position.supervisions.append(link)


def format_logins(logins: list[DemoLogin]) -> str:
    lines = ["Demo logins (passwords generated for this database):"]
    lines += [f"  {login.role:<45} {login.email:<40} {login.password}" for login in logins]
    return "\n".join(lines) + "\n"
