"""The group as a Django admin changelist: the six fields /group shows, two filters, a search."""

from datetime import date

from django.conf import settings
from django.contrib import admin
from django.db.models import Prefetch, Q

from bench.django_peer.models import GroupMember


@admin.register(GroupMember)
class GroupMemberAdmin(admin.ModelAdmin):
    list_display = (
        "person_name",
        "program",
        "institution",
        "role",
        "other_supervisors",
        "start_date",
    )
    list_select_related = ("position__person", "position__program", "position__institution")
    list_filter = ("role", "position__program")
    search_fields = ("position__person__full_name",)
    ordering = ("position__person__full_name",)

    def get_queryset(self, request):
        """The bench faculty's current, confirmed members, with every other supervisor in one
        more query (as /group lists them)."""
        today = date.today()
        others = GroupMember.objects.filter(state="confirmed").exclude(
            supervisor_id=settings.PEER_FACULTY_ID
        )
        return (
            super()
            .get_queryset(request)
            .filter(
                supervisor_id=settings.PEER_FACULTY_ID,
                state="confirmed",
                position__archived_at__isnull=True,
                position__start_date__lte=today,
            )
            .filter(Q(position__end_date__isnull=True) | Q(position__end_date__gte=today))
            .prefetch_related(
                Prefetch(
                    "position__links",
                    queryset=others.select_related("supervisor"),
                    to_attr="other_links",
                )
            )
        )

    @admin.display(description="Name", ordering="position__person__full_name")
    def person_name(self, member):
        return member.position.person.full_name

    @admin.display(description="Program", ordering="position__program__name")
    def program(self, member):
        return member.position.program.name

    @admin.display(description="Institution", ordering="position__institution__name")
    def institution(self, member):
        institution = member.position.institution
        return institution.name if institution else "—"

    @admin.display(description="Other supervisors")
    def other_supervisors(self, member):
        names = [
            link.supervisor.display_name if link.supervisor else link.external_name
            for link in member.position.other_links
        ]
        return ", ".join(names) or "—"

    @admin.display(description="Start date", ordering="position__start_date")
    def start_date(self, member):
        return member.position.start_date
