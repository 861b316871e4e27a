"""factory-boy factories for synthetic test data (Faker's Norwegian locale)."""

import itertools
from datetime import timedelta

import factory
from django.utils import timezone
from guardian.shortcuts import assign_perm

from courses.models import Course
from municipalities.models import (
    ACT_FOR_AUTHORITY,
    ACT_FOR_MUNICIPALITY,
    Authority,
    HealthPersonnel,
    Municipality,
    User,
)

factory.Faker._DEFAULT_LOCALE = "no_NO"

PASSWORD = "test-passord-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"bruker{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@test.invalid")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def valid_org_number(n: int) -> str:
    """The n-th synthetic organisation number that passes the mod-11 check."""
    from stdnum.no import orgnr

    # About one prefix in eleven has no valid check digit; step past those.
    prefix = 91_000_000 + n * 2
    while True:
        for digit in range(10):
            if orgnr.is_valid(f"{prefix}{digit}"):
                return f"{prefix}{digit}"
        prefix += 1


class AuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Authority

    name = factory.Sequence(lambda n: f"Statsforvalteren i Testfylke {n}")
    kind = Authority.Kind.STATSFORVALTER
    org_number = factory.Sequence(valid_org_number)


class MunicipalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Municipality

    number = factory.Sequence(lambda n: f"{(n % 9000) + 1000:04d}")
    name = factory.Faker("city")
    county = "Testfylke"
    authority = factory.SubFactory(AuthorityFactory)


class HealthPersonnelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthPersonnel

    hpr_number = factory.Sequence(lambda n: f"{8000000 + n}")
    name = factory.Faker("name")
    municipality = factory.SubFactory(MunicipalityFactory)
    user = factory.SubFactory(UserFactory)


def caseworker_for(authority, **kwargs):
    user = UserFactory(**kwargs)
    assign_perm(ACT_FOR_AUTHORITY, user, authority)
    return user


def leader_for(municipality, **kwargs):
    user = UserFactory(**kwargs)
    assign_perm(ACT_FOR_MUNICIPALITY, user, municipality)
    return user


def course():
    return Course.objects.filter(active=True).first() or Course.objects.create(
        title="Vanedannende legemidler (VLM)", provider=Course.Provider.SKIL
    )


_case_numbers = itertools.count(100_000)


def issue_order(*, caseworker, authority, personnel, municipality=None, number=None, **overrides):
    """Issue an order through the service, as a caseworker would."""
    from orders import services

    today = timezone.localdate()
    facts = {
        "issuing_authority": authority,
        "caseworker": caseworker,
        "health_personnel": personnel,
        "municipality": municipality or personnel.municipality,
        "case_number": f"2026/{number or next(_case_numbers)}",
        "decision_date": today - timedelta(days=14),
        "grounds_summary": "Syntetisk begrunnelse.",
        "requires_course": True,
        "requirements": "Gjennomføre en SKIL-kvalitetspakke.",
        "deadline": today + timedelta(days=180),
    }
    facts.update(overrides)
    return services.issue_order(acting_user=caseworker, **facts)


def caseworker_via_group(authority, *, group_name=None, **kwargs):
    """A caseworker whose right to act for ``authority`` comes from a group, not a direct grant."""
    from django.contrib.auth.models import Group

    group, _ = Group.objects.get_or_create(name=group_name or f"Saksbehandlere {authority.pk}")
    assign_perm(ACT_FOR_AUTHORITY, group, authority)
    user = UserFactory(**kwargs)
    user.groups.add(group)
    return user


def administrator_for(authority, **kwargs):
    """A user who may appoint caseworkers and municipal leaders for ``authority`` (a direct
    grant, as the bootstrap command gives the first administrator; no Appointment row)."""
    from municipalities.models import ADMINISTER_AUTHORITY

    user = UserFactory(**kwargs)
    assign_perm(ADMINISTER_AUTHORITY, user, authority)
    return user


def helsetilsynet(**kwargs):
    """Statens helsetilsyn: the national authority, covering every municipality."""
    kwargs.setdefault("name", "Statens helsetilsyn")
    return AuthorityFactory(kind=Authority.Kind.HELSETILSYNET, **kwargs)


class GPOfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "municipalities.GPOffice"

    name = factory.Sequence(lambda n: f"Testbyen legesenter {n}")
    org_number = factory.Sequence(lambda n: valid_org_number(50_000 + n))
    address = factory.Sequence(lambda n: f"Legegata {n}")
    postal_code = "5003"
    postal_town = "Bergen"
    municipality = factory.SubFactory(MunicipalityFactory)


def gp(office, *, list_size=1200, list_open=True, **kwargs):
    """A GP (fastlege) at ``office``, practising in its municipality, without a login."""
    kwargs.setdefault("user", None)
    return HealthPersonnelFactory(
        municipality=office.municipality,
        gp_office=office,
        list_size=list_size,
        list_open=list_open,
        **kwargs,
    )
