"""The portal's tables as Django sees them (unmanaged: the portal's migrations own them)."""

from django.db import models


class Account(models.Model):
    email = models.CharField(max_length=254)
    display_name = models.CharField(max_length=200)

    class Meta:
        managed = False
        db_table = "users"

    def __str__(self) -> str:
        return self.display_name


class Person(models.Model):
    full_name = models.CharField(max_length=200)
    email = models.CharField(max_length=254, null=True)
    archived_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "persons"

    def __str__(self) -> str:
        return self.full_name


class Program(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        managed = False
        db_table = "programs"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Institution(models.Model):
    name = models.CharField(max_length=200)

    class Meta:
        managed = False
        db_table = "institutions"

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    person = models.ForeignKey(Person, models.DO_NOTHING)
    program = models.ForeignKey(Program, models.DO_NOTHING)
    institution = models.ForeignKey(Institution, models.DO_NOTHING, null=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True)
    archived_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "positions"


class GroupMember(models.Model):
    """A supervision link: one row of a faculty member's group."""

    ROLES = [("principal", "Principal"), ("co-supervisor", "Co-supervisor"), ("none", "None")]

    position = models.ForeignKey(Position, models.DO_NOTHING, related_name="links")
    supervisor = models.ForeignKey(Account, models.DO_NOTHING, null=True)
    external_name = models.CharField(max_length=200, null=True)
    role = models.CharField(max_length=20, choices=ROLES)
    share = models.DecimalField(max_digits=5, decimal_places=2)
    state = models.CharField(max_length=20)

    class Meta:
        managed = False
        db_table = "supervisions"
        verbose_name = "group member"

    def __str__(self) -> str:
        return str(self.position.person)
