"""Load synthetic demo data on top of the real reference data (authorities and municipalities): one
user per role and orders in every state, all created through the services so history and workflow
are real. Safe to re-run."""

import contextlib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from faker import Faker

from courses.models import Course, Measure
from municipalities.appointments import appoint
from municipalities.gp_register import import_gp_register
from municipalities.models import (
    Appointment,
    Authority,
    HealthPersonnel,
    Municipality,
    User,
)
from municipalities.services import authority_keys, load_reference_data
from orders import deadlines, services
from orders.models import Review

try:  # moves the clock to each step's day; a development dependency, as the demo is
    import time_machine
except ImportError:  # pragma: no cover - without it the story is dated when it is loaded
    time_machine = None

DEMO_PASSWORD = "demo-palegg-2026"
OSLO = ZoneInfo("Europe/Oslo")

# The authorities and municipalities are the real reference data (municipalities/data/, loaded by
# load_reference_data); the demo only looks them up. Demo key -> key in tilsynsmyndigheter.csv.
AUTHORITIES = [
    ("helsetilsynet", "helsetilsynet"),
    ("sfoa", "ostfold-buskerud-oslo-og-akershus"),
    ("vestland", "vestland"),
    ("trondelag", "trondelag"),
]
# Demo key -> kommunenummer.
MUNICIPALITIES = [
    ("oslo", "0301"),
    ("baerum", "3201"),
    ("bergen", "4601"),
    ("voss", "4621"),
    ("trondheim", "5001"),
]
# A tiny valid PDF, so demo documents download and open.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
    b"endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


class Command(BaseCommand):
    help = "Load synthetic demo data (idempotent) and print the demo logins."

    def handle(self, *args, **options):
        # The real authorities and municipalities first, so load_demo also works on its own.
        load_reference_data()
        if User.objects.filter(username="saksbehandler.sfoa").exists():
            self.stdout.write("Demo data already loaded; nothing added.")
            # A demo database from before deadlines were kept gets them now.
            deadlines.refresh_missing()
        else:
            with transaction.atomic():
                self._load()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        # Also on demo data loaded before security officers existed.
        self._security_officer()
        self._print_logins()

    def _user(self, username, first, last):
        user = User.objects.create_user(
            username,
            email=f"{username}@demo.invalid",
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
        )
        return user

    def _security_officer(self):
        """The statsforvalter's security officer (sikkerhetsansvarlig), who searches and
        exports its access log, appointed by its administrator."""
        if User.objects.filter(username="sikkerhet.sfoa").exists():
            return
        authority = Authority.objects.get(org_number=authority_keys()[dict(AUTHORITIES)["sfoa"]])
        fake = Faker("no_NO")
        fake.seed_instance(2026)
        with transaction.atomic():
            appoint(
                acting_user=User.objects.get(username="admin.sfoa"),
                user=self._user("sikkerhet.sfoa", fake.first_name(), fake.last_name()),
                role=Appointment.Role.SECURITY_OFFICER,
                organisation=authority,
                reason="Demo: sikkerhetsansvarlig, følger opp tilgangsloggen.",
            )

    def _load(self):
        self.today = timezone.localdate()
        self._steps_on = {}
        # The people are appointed well before the story's first order (400 days back).
        with self._at(400):
            admins = self._people()
        self._orders()
        # GP offices and list data for the municipality overviews, from the shipped example
        # extract, through the same import a municipality would use.
        import_gp_register(
            Path(settings.BASE_DIR) / "municipalities/data/fastlegeregister-eksempel.csv",
            acting_user=admins[self.authorities["sfoa"].pk],
        )

    def _people(self):
        # Faker names its Norwegian (bokmål) locale no_NO; there is no nb_NO.
        fake = Faker("no_NO")
        Faker.seed(2026)
        self.authorities, self.caseworkers, admins = {}, {}, {}
        org_numbers = authority_keys()
        for key, reference_key in AUTHORITIES:
            authority = Authority.objects.get(org_number=org_numbers[reference_key])
            admins[authority.pk] = self._user(f"admin.{key}", fake.first_name(), fake.last_name())
            appoint(
                acting_user=None,
                user=admins[authority.pk],
                role=Appointment.Role.ADMINISTRATOR,
                organisation=authority,
                reason="Demo: første administrator.",
                system=True,
            )
            user = self._user(f"saksbehandler.{key}", fake.first_name(), fake.last_name())
            appoint(
                acting_user=admins[authority.pk],
                user=user,
                role=Appointment.Role.CASEWORKER,
                organisation=authority,
                reason="Demo: saksbehandler for faglige pålegg.",
            )
            self.authorities[key], self.caseworkers[key] = authority, user
        self.municipalities, self.leaders, self.gps = {}, {}, {}
        hpr = 9100001
        for key, number in MUNICIPALITIES:
            municipality = Municipality.objects.get(number=number)
            leader = self._user(f"leder.{key}", fake.first_name(), fake.last_name())
            appoint(
                acting_user=admins[municipality.authority_id],
                user=leader,
                role=Appointment.Role.LEADER,
                organisation=municipality,
                reason="Demo: kommuneoverlege.",
            )
            self.municipalities[key], self.leaders[key] = municipality, leader
            gps = []
            for i in range(2):
                first, last = fake.first_name(), fake.last_name()
                login = self._user(f"lege.{key}" + ("" if i == 0 else "2"), first, last)
                gps.append(
                    HealthPersonnel.objects.create(
                        hpr_number=str(hpr),
                        name=f"{first} {last}",
                        municipality=municipality,
                        user=login,
                    )
                )
                hpr += 1
            self.gps[key] = gps
        # A supervisor: an experienced GP who gets a login when first named in a plan.
        self.supervisor = HealthPersonnel.objects.create(
            hpr_number=str(hpr),
            name=f"{fake.first_name()} {fake.last_name()}",
            municipality=self.municipalities["oslo"],
        )
        hpr += 1
        # Two GPs without a login, as in the real register.
        for key in ("oslo", "bergen"):
            HealthPersonnel.objects.create(
                hpr_number=str(hpr), name=fake.name(), municipality=self.municipalities[key]
            )
            hpr += 1
        return admins

    # --- the story ------------------------------------------------------------------------
    #
    # Each order's history is dated where it happens in the story, not when the demo was
    # loaded: every step runs with the clock moved to its day (time_machine), the steps of all
    # orders in the order of their days, so the access log's chain and the history read as
    # they would have been written. Days are counted back from the day the demo is loaded.

    def _at(self, days_ago):
        """The clock ``days_ago`` days before the load, from 09.00 (Oslo): each later step of
        the same day seven minutes after the one before, so the day's steps keep their order."""
        day = self.today - timedelta(days=days_ago)
        step = self._steps_on.get(day, 0)
        self._steps_on[day] = step + 1
        moment = datetime(day.year, day.month, day.day, 9, tzinfo=OSLO) + timedelta(
            minutes=7 * step
        )
        if time_machine is None:
            return contextlib.nullcontext()
        return time_machine.travel(moment, tick=True)

    def _day(self, days_ago):
        return self.today - timedelta(days=days_ago)

    def _issue(self, number, authority, municipality, gp_index=0, days_ago=60):
        return services.issue_order(
            acting_user=self.caseworkers[authority],
            issuing_authority=self.authorities[authority],
            caseworker=self.caseworkers[authority],
            health_personnel=self.gps[municipality][gp_index],
            municipality=self.municipalities[municipality],
            case_number=f"2026/{number}",
            decision_date=self._day(days_ago),
            grounds_summary=(
                "Pliktbrudd etter helsepersonelloven § 4 (forsvarlighet) ved forskrivning av "
                "vanedannende legemidler over tid. Syntetisk eksempel."
            ),
            requires_course=True,
            requires_supervision=number % 2 == 0,
            requirements=(
                "Gjennomføre SKIL-kvalitetspakken «Vanedannende legemidler (VLM)»"
                + (
                    " og motta veiledning fra erfaren allmennlege, minst seks timer."
                    if number % 2 == 0
                    else "."
                )
            ),
            deadline=self._day(days_ago - 240),
        )

    def _task(self, order, step):
        return order.task_set.get(
            flow_task_type="HUMAN", status__in=["NEW", "ASSIGNED"], flow_task__endswith=f".{step}"
        )

    def _course(self):
        course = Course.objects.get(provider="skil", title="Vanedannende legemidler (VLM)")
        if not course.terms:
            # Synthetic terms for the demo, so the GP reads them before accepting (the real
            # ones are SKIL's, entered in the catalog by its administrators).
            course.terms = (
                "(Demotekst) Du deltar på alle tre kollegagruppemøtene i kvalitetspakken og "
                "gjennomfører e-læringsmodulen før hvert møte. Du godtar vilkårene innen 14 "
                "dager etter påmeldingen."
            )
            course.save(update_fields=["terms"])
        return course

    def _plan(self, order, municipality):
        measures = [
            {
                "kind": Measure.Kind.COURSE,
                "course": self._course(),
                "description": "Kollegagruppe ved legevakten",
                "planned_completion": order.deadline - timedelta(days=30),
            }
        ]
        if order.requires_supervision:
            measures.append(
                {
                    "kind": Measure.Kind.SUPERVISION,
                    "course": None,
                    "supervisor": self.supervisor,
                    "agreed_sessions": 6,
                    "period_start": timezone.localdate(),
                    "period_end": order.deadline - timedelta(days=14),
                    "description": "Seks veiledningstimer med erfaren fastlege",
                    "planned_completion": order.deadline - timedelta(days=14),
                }
            )
        services.plan_measures(
            task=self._task(order, "plan_measures"),
            acting_user=self.leaders[municipality],
            measures=measures,
        )

    def _acknowledge(self, order):
        services.acknowledge_plan(
            task=self._task(order, "acknowledge"), acting_user=order.health_personnel.user
        )

    def _enrol(self, order, municipality, meeting_days_ago, group="Kollegagruppe Sentrum"):
        services.enrol_in_course(
            measure=order.measures.get(kind=Measure.Kind.COURSE),
            acting_user=self.leaders[municipality],
            enrolled_on=timezone.localdate(),
            group_name=group,
            group_leader="Gruppeleder (syntetisk)",
            meeting_dates=[self._day(d) for d in meeting_days_ago],
        )

    def _accept_terms(self, order):
        services.accept_course_terms(
            measure=order.measures.get(kind=Measure.Kind.COURSE),
            acting_user=order.health_personnel.user,
        )

    def _attended(self, order, municipality, number):
        meeting = order.measures.get(kind=Measure.Kind.COURSE).meetings.get(number=number)
        services.record_attendance(
            meeting=meeting, acting_user=self.leaders[municipality], attendance="attended"
        )

    def _session(self, order):
        services.record_supervision_session(
            measure=order.measures.get(kind=Measure.Kind.SUPERVISION),
            acting_user=self.supervisor.user,
            date=timezone.localdate(),
            duration_minutes=60,
            topic="Forskrivning av vanedannende legemidler",
            status="held",
        )

    def _report(self, order):
        services.submit_supervision_report(
            measure=order.measures.get(kind=Measure.Kind.SUPERVISION),
            acting_user=self.supervisor.user,
            report="Veiledningen er gjennomført som avtalt. Syntetisk rapport.",
        )

    def _confirm(self, order, municipality, name):
        upload = ContentFile(DEMO_PDF, name=name)
        services.confirm_completion(
            task=self._task(order, "confirm_completion"),
            acting_user=self.leaders[municipality],
            note="Alle tre kollegagruppemøter er gjennomført. Kursbevis vedlagt.",
            uploads=[(upload, "certificate")],
        )

    def _sign_off(self, order, authority, outcome, reason=""):
        services.sign_off(
            task=self._task(order, "sign_off"),
            acting_user=self.caseworkers[authority],
            outcome=outcome,
            reason=reason,
        )

    def _story(
        self,
        number,
        authority,
        municipality,
        days_ago,
        *,
        gp_index=0,
        until="issued",
        meetings=3,
        document="kursbevis.pdf",
        outcome=None,
        reason="",
    ):
        """One order's steps, each at its day (days before the load), up to ``until``: issued,
        planned, acknowledged, under_way (enrolled, meetings and sessions held), confirmed,
        signed_off (with ``outcome``)."""
        orders = self.orders
        stages = ["issued", "planned", "acknowledged", "under_way", "confirmed", "signed_off"]
        reach = stages.index(until)
        o = lambda: orders[number]  # noqa: E731 - the order, once the first event made it
        events = [
            (
                days_ago,
                lambda: orders.__setitem__(
                    number, self._issue(number, authority, municipality, gp_index, days_ago)
                ),
            )
        ]
        if reach >= 1:
            events.append((days_ago - 10, lambda: self._plan(o(), municipality)))
        if reach >= 2:
            events.append((days_ago - 13, lambda: self._acknowledge(o())))
        if reach >= 3:
            enrolled = days_ago - 16
            meeting_days = [enrolled - 30, enrolled - 60, enrolled - 90]
            events.append((enrolled, lambda: self._enrol(o(), municipality, meeting_days)))
            events.append((enrolled - 2, lambda: self._accept_terms(o())))
            for n, day in enumerate(meeting_days[:meetings], start=1):
                events.append((day - 1, lambda n=n: self._attended(o(), municipality, n)))
            if number % 2 == 0:  # supervision: six weekly sessions, then the report
                first = days_ago - 20
                for week in range(6):
                    events.append((first - 7 * week, lambda: self._session(o())))
                if reach >= 4:
                    events.append((first - 36, lambda: self._report(o())))
        if reach >= 4:
            confirmed = days_ago - 16 - 90 - 7
            events.append((confirmed, lambda: self._confirm(o(), municipality, document)))
        if reach >= 5:
            events.append((confirmed - 7, lambda: self._sign_off(o(), authority, outcome, reason)))
        return events

    def _orders(self):
        self.orders = {}
        o = self.orders
        events = [
            *self._story(1001, "sfoa", "oslo", 10),  # awaiting the municipality's plan
            *self._story(1002, "sfoa", "oslo", 30, gp_index=1, until="planned"),  # the GP
            # Measures under way: two of three meetings held.
            *self._story(1003, "vestland", "bergen", 90, until="under_way", meetings=2),
            # Course terms not accepted within 14 days of enrolment.
            *self._story(1011, "sfoa", "oslo", 45, gp_index=1, until="acknowledged"),
            (20, lambda: self._enrol(o[1011], "oslo", [-20, -80, -140], "Kollegagruppe Vest")),
            *self._story(
                1004, "sfoa", "oslo", 200, until="confirmed", document="kursbevis-vlm.pdf"
            ),  # awaiting sign-off
            *self._story(
                1005,
                "sfoa",
                "baerum",
                210,
                until="signed_off",  # sent back once
                document="deltakerliste.pdf",
                outcome=Review.Outcome.RETURNED,
                reason="Kursbevis for tredje møte mangler.",
            ),
            *self._story(
                1006,
                "trondelag",
                "trondheim",
                220,
                until="signed_off",  # fulfilled
                outcome=Review.Outcome.FULFILLED,
            ),
            *self._story(1007, "vestland", "voss", 40),  # withdrawn
            (
                30,
                lambda: services.withdraw_order(
                    order=o[1007],
                    acting_user=self.caseworkers["vestland"],
                    reason="Feil person registrert i saken.",
                ),
            ),
            *self._story(1008, "sfoa", "baerum", 12, gp_index=1),  # under appeal
            (
                3,
                lambda: services.register_appeal(
                    order=o[1008],
                    acting_user=self.caseworkers["sfoa"],
                    received_on=self._day(3),
                    note="Klage mottatt per brev.",
                ),
            ),
            # An appeal that reversed the order.
            *self._story(1009, "helsetilsynet", "bergen", 50, gp_index=1),
            (
                39,
                lambda: o.__setitem__(
                    "appeal",
                    services.register_appeal(
                        order=o[1009],
                        acting_user=self.caseworkers["helsetilsynet"],
                        received_on=self._day(40),
                    ),
                ),
            ),
            (
                5,
                lambda: services.decide_appeal(
                    appeal=o["appeal"],
                    acting_user=self.caseworkers["helsetilsynet"],
                    outcome="reversed",
                    decided_by="nemnd",
                    decided_on=self._day(5),
                    note="Nemnda opphevet vedtaket.",
                ),
            ),
            *self._story(1010, "sfoa", "oslo", 100),  # extended deadline
            (
                60,
                lambda: services.extend_deadline(
                    order=o[1010],
                    acting_user=self.caseworkers["sfoa"],
                    new_deadline=o[1010].deadline + timedelta(days=60),
                    reason="Kurset starter først etter sommeren.",
                ),
            ),
        ]
        # In the story's order: the earliest day first; a day's events as listed.
        for days_ago, event in sorted(events, key=lambda e: -e[0]):
            with self._at(days_ago):
                event()

    def _print_logins(self):
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        rows = [
            (
                "Saksbehandler, Statsforvalteren i Østfold, Buskerud, Oslo og Akershus",
                "saksbehandler.sfoa",
            ),
            ("Saksbehandler, Statsforvaltaren i Vestland", "saksbehandler.vestland"),
            ("Saksbehandler, Statsforvalteren i Trøndelag", "saksbehandler.trondelag"),
            ("Saksbehandler, Statens helsetilsyn", "saksbehandler.helsetilsynet"),
            (
                "Administrator (utnevner saksbehandlere og kommuneledere), samme statsforvalter",
                "admin.sfoa",
            ),
            (
                "Administratorer for de andre myndighetene",
                "admin.vestland, admin.trondelag, admin.helsetilsynet",
            ),
            (
                "Sikkerhetsansvarlig (søker i og eksporterer tilgangsloggen), samme myndighet",
                "sikkerhet.sfoa",
            ),
            ("Kommuneoverlege, Oslo kommune", "leder.oslo"),
            (
                "Kommuneoverlege, Bærum / Bergen / Voss / Trondheim",
                "leder.baerum, leder.bergen, leder.voss, leder.trondheim",
            ),
            ("Fastlege i Oslo med pålegg", "lege.oslo"),
            ("Andre fastleger", "lege.oslo2, lege.bergen, lege.baerum2, …"),
        ]
        for role, username in rows:
            self.stdout.write(f"  {role:<75} {username}")
        self.stdout.write(
            "Administrators and security officers set up two-factor login (an authenticator "
            "app, TOTP) at their first login."
        )
        self.stdout.write("Open http://127.0.0.1:8000/ and log in.\n")
