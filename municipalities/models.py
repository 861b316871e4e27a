"""Who exists: the supervisory authorities, municipalities, health personnel and users.

Acting for an organisation is a django-guardian permission on that organisation's row,
kept in direct foreign-key tables (fast to filter on at scale).
"""

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from audit.actor import history_records
from audit.guards import HistoryPreservingQuerySet

ACT_FOR_AUTHORITY = "municipalities.act_for_authority"
ACT_FOR_MUNICIPALITY = "municipalities.act_for_municipality"


class User(AbstractUser):
    """A person who logs in. Their organisations come from guardian grants, not from here."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.get_full_name() or self.username


class Authority(models.Model):
    """Tilsynsmyndighet: Statens helsetilsyn or a statsforvalter."""

    class Kind(models.TextChoices):
        HELSETILSYNET = "helsetilsynet", _("Norwegian Board of Health Supervision")
        STATSFORVALTER = "statsforvalter", _("County governor")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    org_number = models.CharField(
        _("organisation number"),
        max_length=9,
        unique=True,
        validators=[RegexValidator(r"^\d{9}$", _("An organisation number has nine digits."))],
    )
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["name"]
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")
        permissions = [("act_for_authority", _("Can act as caseworker for the authority"))]

    def __str__(self):
        return self.name


class Municipality(models.Model):
    """Kommune, by its four-digit kommunenummer (leading zero kept)."""

    number = models.CharField(
        _("municipality number"),
        max_length=4,
        unique=True,
        validators=[RegexValidator(r"^\d{4}$", _("A municipality number has four digits."))],
    )
    name = models.CharField(_("name"), max_length=100)
    county = models.CharField(_("county"), max_length=100, blank=True)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("county governor"),
        on_delete=models.PROTECT,
        related_name="municipalities",
        limit_choices_to={"kind": Authority.Kind.STATSFORVALTER},
    )
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["number"]
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        permissions = [("act_for_municipality", _("Can act for the municipality"))]

    def __str__(self):
        return f"{self.number} {self.name}"


class HealthPersonnel(models.Model):
    """Helsepersonell, identified by HPR number. No fødselsnummer is ever stored."""

    class Profession(models.TextChoices):
        DOCTOR = "lege", _("Doctor")
        NURSE = "sykepleier", _("Nurse")
        DENTIST = "tannlege", _("Dentist")
        PSYCHOLOGIST = "psykolog", _("Psychologist")
        PHYSIOTHERAPIST = "fysioterapeut", _("Physiotherapist")
        OTHER = "annet", _("Other")

    hpr_number = models.CharField(
        _("HPR number"),
        max_length=9,
        unique=True,
        validators=[RegexValidator(r"^\d{7,9}$", _("An HPR number has seven to nine digits."))],
    )
    name = models.CharField(_("name"), max_length=200)
    profession = models.CharField(
        _("profession"), max_length=20, choices=Profession.choices, default=Profession.DOCTOR
    )
    municipality = models.ForeignKey(
        Municipality,
        verbose_name=_("practises in"),
        on_delete=models.PROTECT,
        related_name="health_personnel",
    )
    user = models.OneToOneField(
        User,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="health_personnel",
    )
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["name"]
        verbose_name = _("health personnel")
        verbose_name_plural = _("health personnel")

    def __str__(self):
        return f"{self.name} (HPR {self.hpr_number})"


class AuthorityUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Authority, on_delete=models.CASCADE)


class AuthorityGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Authority, on_delete=models.CASCADE)


class MunicipalityUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Municipality, on_delete=models.CASCADE)


class MunicipalityGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Municipality, on_delete=models.CASCADE)
