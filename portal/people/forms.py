"""Forms for the profile, a publication and a BibTeX paste; they check values, never the database."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.forms import LocalizedNumberField, select_choices
from portal.identifiers import clean_text, name_key
from portal.labels import lazy_gettext as _l
from portal.people.profile import SLUG_MAX_LENGTH, SLUG_PATTERN
from portal.people.publications import (
    TITLE_MAX_LENGTH,
    VENUE_MAX_LENGTH,
    PublicationInputError,
    check_link,
    check_year,
    parse_author_lines,
)

TITLE_FIELD_MAX_LENGTH = 300
DEPARTMENT_MAX_LENGTH = 200
BIOGRAPHY_MAX_LENGTH = 10_000
TOPIC_MAX_LENGTH = 100
MAX_TOPICS = 30
BIBTEX_MAX_LENGTH = 500_000


def _text(value: str | None) -> str | None:
    """Trimmed text with newlines as \\n, or None when empty."""
    text = clean_text((value or "").replace("\r\n", "\n").replace("\r", "\n"))
    return text or None


def _too_long(max_length: int) -> Length:
    return Length(
        max=max_length, message=_l("Keep this to at most %(max)d characters.", max=max_length)
    )


class ProfileForm(FlaskForm):
    title = TextAreaField(
        _l("Title and positions"), validators=[_too_long(TITLE_FIELD_MAX_LENGTH)], filters=[_text]
    )
    department = StringField(
        _l("Department"), validators=[_too_long(DEPARTMENT_MAX_LENGTH)], filters=[_text]
    )
    biography = TextAreaField(
        _l("Biography"), validators=[_too_long(BIOGRAPHY_MAX_LENGTH)], filters=[_text]
    )
    research_topics = TextAreaField(_l("Research topics"))
    slug = StringField(_l("Profile address"), filters=[lambda value: (value or "").strip() or None])
    profile_published = BooleanField(_l("Publish my profile"))
    milestone_digest = BooleanField(_l("E-mail me a digest of milestones due"))
    submit = SubmitField(_l("Save profile"))

    def topics(self) -> list[str]:
        """The research topics, one per non-empty line, as entered."""
        return [
            clean_text(line)
            for line in (self.research_topics.data or "").splitlines()
            if clean_text(line)
        ]

    def validate_research_topics(self, field) -> None:
        topics = self.topics()
        if len(topics) > MAX_TOPICS:
            raise ValidationError(_("List at most %(max)d research topics.", max=MAX_TOPICS))
        seen: set[str] = set()
        for topic in topics:
            if len(topic) > TOPIC_MAX_LENGTH:
                raise ValidationError(
                    _(
                        "Each research topic must be at most %(max)d characters (“%(start)s…” is longer).",
                        max=TOPIC_MAX_LENGTH,
                        start=topic[:40],
                    )
                )
            if name_key(topic) in seen:
                raise ValidationError(_("“%(topic)s” is listed twice.", topic=topic))
            seen.add(name_key(topic))

    def validate_slug(self, field) -> None:
        if field.data is None:
            if self.profile_published.data:
                raise ValidationError(_("Choose a profile address before publishing your profile."))
            return
        if len(field.data) > SLUG_MAX_LENGTH:
            raise ValidationError(
                _("Keep the profile address to at most %(max)d characters.", max=SLUG_MAX_LENGTH)
            )
        if not SLUG_PATTERN.match(field.data):
            raise ValidationError(
                _(
                    "Use only lowercase letters a-z, digits and single hyphens between them, "
                    "like helene-tremblay-okafor."
                )
            )


class PublicationForm(FlaskForm):
    title = StringField(_l("Title"), validators=[_too_long(TITLE_MAX_LENGTH)], filters=[_text])
    year = StringField(_l("Year"))
    venue = StringField(_l("Venue"), validators=[_too_long(VENUE_MAX_LENGTH)], filters=[_text])
    url = StringField(_l("Link"))
    authors = TextAreaField(_l("Authors"))
    submit = SubmitField(_l("Save publication"))

    def __init__(self, *args, today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or date.today()

    def validate_title(self, field) -> None:
        if not field.data:
            raise ValidationError(_("Enter the title."))

    def validate_year(self, field) -> None:
        try:
            check_year(field.data, self.today)
        except PublicationInputError as error:
            raise ValidationError(str(error)) from error

    def validate_url(self, field) -> None:
        try:
            check_link(field.data)
        except PublicationInputError as error:
            raise ValidationError(str(error)) from error

    def validate_authors(self, field) -> None:
        try:
            parse_author_lines(field.data)
        except PublicationInputError as error:
            raise ValidationError(str(error)) from error


class BibtexForm(FlaskForm):
    bibtex = TextAreaField(_l("BibTeX"), validators=[_too_long(BIBTEX_MAX_LENGTH)])
    submit = SubmitField(_l("Import"))

    def validate_bibtex(self, field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_("Paste at least one BibTeX entry, such as @article{key, ...}."))


class TokenForm(FlaskForm):
    """A new personal API token: a label, what it may do, and when it expires."""

    name = StringField(
        _l("Token name"),
        validators=[_too_long(100)],
    )
    scope = SelectField(
        _l("Scope"),
        choices=select_choices([("read", _l("Read only")), ("write", _l("Read and write"))]),
        default="read",
        validators=[InputRequired(message=_l("Choose what the token may do."))],
    )
    expires_days = LocalizedNumberField(
        _l("Expires after (days)"),
        whole=True,
        default=90,
        validators=[
            Optional(),
            NumberRange(min=1, max=3650, message=_l("Between 1 and 3650 days, or empty.")),
        ],
    )
    submit = SubmitField(_l("Create token"))


class PortraitForm(FlaskForm):
    """A new portrait; what the file holds is checked by portal/images.py, not here."""

    portrait = FileField(
        _l("Picture file"),
        validators=[FileRequired(message=_l("Choose a JPEG, PNG or WebP picture to upload."))],
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )
    submit = SubmitField(_l("Upload portrait"))
