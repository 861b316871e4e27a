"""Who exists: the supervisory authorities, municipalities, health personnel and users.

Acting for an organisation is a django-guardian permission on that organisation's row,
kept in direct foreign-key tables (fast to filter on at scale).
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.core import ObjectPermissionChecker
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from audit.actor import history_records
from audit.guards import HistoryPreservingQuerySet

from .bounds import REASON_LENGTH, text_validators

ACT_FOR_AUTHORITY = "municipalities.act_for_authority"
ADMINISTER_AUTHORITY = "municipalities.administer_authority"
# The authority's security officer (sikkerhetsansvarlig): searches and exports its access log.
AUDIT_AUTHORITY = "municipalities.audit_authority"
ACT_FOR_MUNICIPALITY = "municipalities.act_for_municipality"


def validate_org_number(value):
    """Brønnøysund organisation number: nine digits with a mod-11 check digit."""
    from stdnum.no import orgnr

    if not orgnr.is_valid(value):
        raise ValidationError(
            _("%(value)s is not a valid organisation number (nine digits, check digit)."),
            params={"value": value},
            code="invalid_org_number",
        )


class User(AbstractUser):
    """A person who logs in. Their organisations come from guardian grants, not from here."""

    # Their written standard (bokmål or nynorsk) or English, chosen in the menu and used for
    # their pages, e-mails and notices; empty: the site's default (settings.LANGUAGE_CODE).
    language = models.CharField(
        _("language"), max_length=8, blank=True, choices=settings.LANGUAGES, default=""
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def preferred_language(self) -> str:
        """The language to write to them in: their own choice, else the site's default."""
        return self.language or settings.LANGUAGE_CODE

    def has_perm(self, perm, obj=None):
        """What was granted, and for a superuser nothing more. A superuser is an operator
        (Drift, the operators' admin site: config/admin.py), not a caseworker or leader of
        every authority and municipality; Django and guardian would give them every
        permission on every object, so their grants are read as anyone's (the admin asks its
        own rule, not this)."""
        if not self.is_superuser:
            return super().has_perm(perm, obj)
        if not self.is_active or obj is None:
            return False
        checker = ObjectPermissionChecker(self)
        codename = perm.split(".", 1)[-1]
        return codename in checker.get_user_perms(obj) or codename in checker.get_group_perms(obj)


class Authority(models.Model):
    """Tilsynsmyndighet: Statens helsetilsyn or a statsforvalter."""

    class Kind(models.TextChoices):
        HELSETILSYNET = "helsetilsynet", _("Norwegian Board of Health Supervision")
        STATSFORVALTER = "statsforvalter", _("County governor")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    org_number = models.CharField(
        _("organisation number"), max_length=9, unique=True, validators=[validate_org_number]
    )
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["name"]
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")
        permissions = [
            ("act_for_authority", _("Can act as caseworker for the authority")),
            ("administer_authority", _("Can appoint caseworkers and municipal leaders")),
            ("audit_authority", _("Can search and export the authority's access log")),
        ]

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
    official_name = models.CharField(
        _("official name"),
        max_length=200,
        blank=True,
        help_text=_(
            "With Sami or Kven parallel names where official, e.g. Guovdageaidnu - Kautokeino."
        ),
    )
    county = models.CharField(_("county"), max_length=100, blank=True)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("county governor"),
        on_delete=models.PROTECT,
        related_name="municipalities",
        limit_choices_to={"kind": Authority.Kind.STATSFORVALTER},
    )
    valid_to = models.DateField(_("ceased"), null=True, blank=True)
    successor = models.ForeignKey(
        "self",
        verbose_name=_("merged into or renamed to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="predecessors",
    )
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["number"]
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        permissions = [("act_for_municipality", _("Can act for the municipality"))]

    def __str__(self):
        return f"{self.number} {self.official_name or self.name}"

    @property
    def is_current(self):
        return self.valid_to is None


class GPOffice(models.Model):
    """Legekontor: a GP office, by organisation number."""

    name = models.CharField(_("name"), max_length=200)
    org_number = models.CharField(
        _("organisation number"), max_length=9, unique=True, validators=[validate_org_number]
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=4, blank=True)
    postal_town = models.CharField(_("postal town"), max_length=100, blank=True)
    municipality = models.ForeignKey(
        Municipality,
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        related_name="gp_offices",
    )
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["name"]
        verbose_name = _("GP office")
        verbose_name_plural = _("GP offices")

    def __str__(self):
        return self.name


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
    gp_office = models.ForeignKey(
        GPOffice,
        verbose_name=_("GP office"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gps",
    )
    list_size = models.PositiveIntegerField(_("list size"), null=True, blank=True)
    list_open = models.BooleanField(_("open list"), null=True, blank=True)
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


class Appointment(models.Model):
    """A record of who appointed whom to act for an organisation, and why.

    The guardian permission is what grants access; this row (with its history) is the
    account of the grant and of its removal, shown on the organisation's page.
    """

    class Role(models.TextChoices):
        CASEWORKER = "caseworker", _("Caseworker")
        ADMINISTRATOR = "administrator", _("Administrator")
        SECURITY_OFFICER = "security_officer", _("Security officer")
        LEADER = "leader", _("Municipal leader")

    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.PROTECT, related_name="appointments"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    reason = models.TextField(
        _("reason"), max_length=REASON_LENGTH, validators=text_validators(REASON_LENGTH)
    )
    # Empty for the first administrator, appointed by the bootstrap command (system=True):
    # blank too, so that such a row passes full_clean like any other.
    appointed_by = models.ForeignKey(
        User,
        verbose_name=_("appointed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    appointed_at = models.DateTimeField(_("appointed"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        User,
        verbose_name=_("ended by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    end_reason = models.TextField(
        _("reason for ending"),
        blank=True,
        max_length=REASON_LENGTH,
        validators=text_validators(REASON_LENGTH),
    )
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["-appointed_at", "-pk"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(role="leader", municipality__isnull=False, authority__isnull=True)
                    | ~models.Q(role="leader")
                    & models.Q(authority__isnull=False, municipality__isnull=True)
                ),
                name="appointment_role_matches_organisation",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "authority"],
                condition=models.Q(ended_at__isnull=True, authority__isnull=False),
                name="appointment_one_active_per_authority",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "municipality"],
                condition=models.Q(ended_at__isnull=True, municipality__isnull=False),
                name="appointment_one_active_per_municipality",
            ),
        ]

    def __str__(self):
        return f"{self.user} – {self.get_role_display()} – {self.authority or self.municipality}"

    @property
    def organisation(self):
        return self.authority or self.municipality


class AuthorityUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Authority, on_delete=models.CASCADE)


class AuthorityGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Authority, on_delete=models.CASCADE)


class MunicipalityUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Municipality, on_delete=models.CASCADE)


class MunicipalityGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Municipality, on_delete=models.CASCADE)


class LoginIdentity(models.Model):
    """An OpenID Connect login bound to a user: which configured provider, and the subject
    (``sub``) it names the person by. Never the fødselsnummer: a ``pid`` claim is read for
    nothing and stored nowhere."""

    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="login_identities"
    )
    provider = models.CharField(_("login provider"), max_length=50)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("bound"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("last login"), null=True, blank=True)

    class Meta:
        verbose_name = _("login identity")
        verbose_name_plural = _("login identities")
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="login_identity_unique")
        ]

    def __str__(self):
        return f"{self.user} ({self.provider})"


class Invitation(models.Model):
    """A one-time link that lets a person who was appointed, but has no login yet, in: it binds
    their first OpenID Connect login, or lets them set a password where local accounts are
    allowed. Only a hash of the link's token is stored."""

    class State(models.TextChoices):
        SENT = "sent", _("Sent")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.PROTECT, related_name="invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField(_("sent to"), blank=True)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("invited by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    # How the link was used: "password" or "oidc:<provider>".
    used_for = models.CharField(_("used for"), max_length=60, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self):
        return f"{self.user} – {self.get_state_display()}"

    @property
    def state(self) -> str:
        from django.utils import timezone

        if self.used_at is not None:
            return self.State.USED
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.SENT

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)


class UserSession(models.Model):
    """A session a user logged in with (written at login, removed at logout), so that all of a
    person's sessions can be ended when they are deactivated or lose their last appointment
    (municipalities.user_sessions.end_sessions)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("login session")
        verbose_name_plural = _("login sessions")

    def __str__(self):
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"
