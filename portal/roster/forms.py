"""Forms of the roster import: the upload, and the confirmation that carries the signed rows."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SubmitField
from wtforms.validators import DataRequired

from portal.labels import lazy_gettext as _l


class ImportForm(FlaskForm):
    """The upload: one CSV or XLSX file."""

    file = FileField(
        _l("Roster file"),
        validators=[FileRequired(message=_l("Choose a CSV or XLSX file to import."))],
    )
    submit = SubmitField(_l("Preview the import"))


class ConfirmImportForm(FlaskForm):
    """The token of the preview kept on the server (portal/roster/previews.py), and a button."""

    preview = HiddenField(
        validators=[DataRequired(message=_l("The preview is missing: upload the file again."))]
    )
    # The member form's rule: going over a cap needs an explicit "Save anyway".
    accept_over_cap = BooleanField(_l("Save anyway, over the cap"))
    submit = SubmitField(_l("Confirm the import"))
