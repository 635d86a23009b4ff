"""Public profile pages (no login) and the faculty member's own profile and publication editing."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.auth.access import public
from portal.auth.tokens import TokenError, create_token, get_own_token, list_tokens, revoke_token
from portal.errors import render_error
from portal.extensions import db
from portal.file_budgets import size_text
from portal.images import ImageError, clean_image, image_response
from portal.people.bibtex import import_entries, parse_bibtex
from portal.people.forms import BibtexForm, PortraitForm, ProfileForm, PublicationForm, TokenForm
from portal.people.portraits import (
    PortraitPermissionError,
    portrait_image,
    remove_portrait,
    set_portrait,
)
from portal.people.profile import (
    ProfileData,
    SlugTakenError,
    profile_data,
    suggest_slug,
    update_profile,
)
from portal.people.publications import (
    PublicationData,
    add_publication,
    author_lines,
    check_link,
    check_year,
    delete_publication,
    get_publication,
    list_publications,
    parse_author_lines,
    relink_authors,
    update_publication,
)
from portal.people.queries import (
    account_or_404,
    initials,
    profile_json,
    public_profile,
    published_profile_id,
    published_profiles,
)

blueprint = Blueprint("people", __name__)


# ---------------------------------------------------------------------------------------------
# Public pages.


@blueprint.route("/people")
@public
def index():
    return render_template("people/index.html", profiles=published_profiles())


@blueprint.route("/people/<slug>")
@public
def show(slug: str):
    profile = public_profile(slug, date.today())
    if profile is None:
        abort(404)  # the same answer for an unknown and an unpublished profile
    return render_template("people/show.html", profile=profile)


@blueprint.route("/people/<slug>.json")
@public
def show_json(slug: str):
    profile = public_profile(slug, date.today())
    if profile is None:
        return jsonify(error="Not found"), 404
    return jsonify(profile_json(profile))


@blueprint.route("/people/<slug>/portrait")
@public
def portrait(slug: str):
    """A published profile's portrait; `v` (its digest) makes each version a new address."""
    user_id = published_profile_id(slug)
    image = portrait_image(user_id, request.args.get("v")) if user_id is not None else None
    if image is None:
        abort(404)
    return image_response(image, public=True)


# ---------------------------------------------------------------------------------------------
# The logged-in faculty member's own profile.


@blueprint.route("/profile", methods=["GET", "POST"])
def profile():
    form = ProfileForm()
    if request.method == "GET":
        form.process(data=_profile_initial())
    elif form.validate_on_submit():
        data = ProfileData(
            title=form.title.data,
            department=form.department.data,
            biography=form.biography.data,
            research_topics=form.topics(),
            slug=form.slug.data,
            profile_published=form.profile_published.data,
            milestone_digest=form.milestone_digest.data,
        )
        try:
            update_profile(current_user, data)
        except SlugTakenError as error:
            db.session.rollback()
            form.slug.errors = [*form.slug.errors, str(error)]
        else:
            db.session.commit()
            flash(_("Your profile was saved."), "success")
            return redirect(url_for("people.profile"))
    status = 400 if form.is_submitted() else 200
    return _profile_page(form, status)


def _profile_page(
    form: ProfileForm,
    status: int,
    token_form: TokenForm | None = None,
    portrait_form: PortraitForm | None = None,
    **extra,
):
    if not form.is_submitted() and form.slug.data is None:
        form.process(obj=None, data=_profile_initial())
    return render_template(
        "people/profile.html",
        form=form,
        user=current_user,
        token_form=token_form or TokenForm(formdata=None),
        portrait_form=portrait_form or PortraitForm(formdata=None),
        portrait_initials=initials(current_user.display_name),
        portrait_max_size=size_text(int(current_app.config["IMAGE_MAX_BYTES"])),
        portrait_max_side=int(current_app.config["PORTRAIT_MAX_SIDE"]),
        tokens=list_tokens(current_user),
        **extra,
    ), status


def _profile_initial() -> dict:
    data = profile_data(current_user)
    return {
        "title": data.title,
        "department": data.department,
        "biography": data.biography,
        "research_topics": "\n".join(data.research_topics),
        "slug": data.slug or suggest_slug(current_user),
        "profile_published": data.profile_published,
        "milestone_digest": data.milestone_digest,
    }


# ---------------------------------------------------------------------------------------------
# The portrait (on the profile page).


@blueprint.route("/profile/portrait", methods=["GET", "POST"])
def own_portrait():
    """GET: one's own portrait (published or not), for the profile page. POST: replace it."""
    if request.method == "GET":
        image = portrait_image(current_user.id, request.args.get("v"))
        if image is None:
            abort(404)
        return image_response(image, public=False)
    portrait_form = PortraitForm()
    status = 400
    if portrait_form.validate_on_submit():
        max_side = int(current_app.config["PORTRAIT_MAX_SIDE"])
        try:
            image = clean_image(portrait_form.portrait.data.stream, max_side)
        except ImageError as error:
            portrait_form.portrait.errors = [*portrait_form.portrait.errors, error.message]
            status = error.status
        else:
            set_portrait(current_user, current_user, image)
            db.session.commit()
            flash(_("Your portrait was saved."), "success")
            return redirect(url_for("people.profile"))
    profile_form = ProfileForm(formdata=None, data=_profile_initial())
    return _profile_page(profile_form, status, portrait_form=portrait_form)


@blueprint.route("/profile/<int:user_id>/portrait/remove", methods=["POST"])
def remove_portrait_view(user_id: int):
    """Remove a portrait: the account's owner, or an administrator; anyone else gets 403."""
    user = account_or_404(user_id)
    try:
        removed = remove_portrait(current_user, user)
    except PortraitPermissionError as error:
        db.session.rollback()
        return render_error(403, str(error))
    db.session.commit()
    if user.id == current_user.id:
        flash(
            _("Your portrait was removed.") if removed else _("You have no portrait to remove."),
            "success" if removed else "info",
        )
    else:
        flash(_("The portrait of %(name)s was removed.", name=user.display_name), "success")
    return redirect(url_for("people.profile" if user.id == current_user.id else "people.index"))


# ---------------------------------------------------------------------------------------------
# Personal API tokens (listed on the profile page).


@blueprint.route("/profile/tokens", methods=["POST"])
def new_token():
    """Create a token and show its secret, this once, on the profile page."""
    token_form = TokenForm()
    if token_form.validate_on_submit():
        try:
            new = create_token(
                current_user,
                current_user,
                token_form.scope.data,
                name=token_form.name.data,
                expires_days=token_form.expires_days.data,
            )
        except TokenError as error:
            db.session.rollback()
            field = getattr(token_form, error.field_name, token_form.name)
            field.errors = [*field.errors, error.message]
        else:
            db.session.commit()
            return _profile_page(
                ProfileForm(formdata=None), 201, new_secret=new.secret, new_token=new.token
            )
    return _profile_page(ProfileForm(formdata=None), 400, token_form)


@blueprint.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token_view(token_id: int):
    """Revoke one of one's own tokens (another person's token id is 404)."""
    token = get_own_token(current_user, token_id)
    if token is None:
        abort(404)
    revoke_token(current_user, token)
    db.session.commit()
    flash(_("The token “%(name)s” was revoked.", name=token.name), "success")
    return redirect(url_for("people.profile"))


# ---------------------------------------------------------------------------------------------
# The logged-in faculty member's publications.


def _publication_data(form: PublicationForm) -> PublicationData:
    return PublicationData(
        title=form.title.data,
        year=check_year(form.year.data, form.today),
        venue=form.venue.data,
        url=check_link(form.url.data),
        authors=parse_author_lines(form.authors.data),
    )


@blueprint.route("/profile/publications")
def publications():
    return render_template(
        "people/publications.html",
        publications=list_publications(current_user),
        bibtex_form=BibtexForm(),
    )


@blueprint.route("/profile/publications/new", methods=["GET", "POST"])
def new_publication():
    form = PublicationForm(today=date.today())
    if form.validate_on_submit():
        add_publication(current_user, _publication_data(form))
        db.session.commit()
        flash(_("The publication was added."), "success")
        return redirect(url_for("people.publications"))
    status = 400 if form.is_submitted() else 200
    return render_template("people/publication_form.html", form=form, publication=None), status


@blueprint.route("/profile/publications/<int:publication_id>/edit", methods=["GET", "POST"])
def edit_publication(publication_id: int):
    publication = get_publication(current_user, publication_id)
    if publication is None:
        abort(404)
    form = PublicationForm(today=date.today())
    if request.method == "GET":
        form.process(
            data={
                "title": publication.title,
                "year": publication.year or "",
                "venue": publication.venue,
                "url": publication.url,
                "authors": author_lines(publication),
            }
        )
    elif form.validate_on_submit():
        update_publication(current_user, publication, _publication_data(form))
        db.session.commit()
        flash(_("The publication was saved."), "success")
        return redirect(url_for("people.publications"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "people/publication_form.html", form=form, publication=publication
    ), status


@blueprint.route("/profile/publications/<int:publication_id>/delete", methods=["POST"])
def delete_publication_view(publication_id: int):
    publication = get_publication(current_user, publication_id)
    if publication is None:
        abort(404)
    delete_publication(current_user, publication)
    db.session.commit()
    flash(_("“%(title)s” was deleted.", title=publication.title), "success")
    return redirect(url_for("people.publications"))


@blueprint.route("/profile/publications/relink", methods=["POST"])
def relink_publication_authors():
    changed = relink_authors(current_user)
    db.session.commit()
    flash(
        ngettext(
            "Authors matched to your group again: %(num)d link changed.",
            "Authors matched to your group again: %(num)d links changed.",
            changed,
        ),
        "success",
    )
    return redirect(url_for("people.publications"))


@blueprint.route("/profile/publications/import", methods=["GET", "POST"])
def import_bibtex():
    form = BibtexForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("people/import.html", form=form, report=None), status
    report = import_entries(current_user, parse_bibtex(form.bibtex.data, date.today()))
    if not report.imported:
        db.session.rollback()
        form.bibtex.errors = [
            _("Nothing was imported: every entry has a problem (listed below).")
            if report.rejected
            else _(
                "No BibTeX entries were found; entries start with @, like "
                "@article{key, title = {...}, author = {...}}."
            )
        ]
        return render_template("people/import.html", form=form, report=report), 400
    db.session.commit()
    return render_template("people/import.html", form=BibtexForm(formdata=None), report=report)
