"""Load synthetic demo data on top of the real reference data (authorities and municipalities): one
user per role and orders in every state, all created through the services so history and workflow
are real. Safe to re-run."""

from datetime import timedelta
from pathlib import Path

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

DEMO_PASSWORD = "demo-palegg-2026"

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
        self._orders(fake)
        # GP offices and list data for the municipality overviews, from the shipped example
        # extract, through the same import a municipality would use.
        import_gp_register(
            Path(settings.BASE_DIR) / "municipalities/data/fastlegeregister-eksempel.csv",
            acting_user=admins[self.authorities["sfoa"].pk],
        )

    def _issue(self, number, authority, municipality, gp_index=0, days_ago=60):
        today = timezone.localdate()
        return services.issue_order(
            acting_user=self.caseworkers[authority],
            issuing_authority=self.authorities[authority],
            caseworker=self.caseworkers[authority],
            health_personnel=self.gps[municipality][gp_index],
            municipality=self.municipalities[municipality],
            case_number=f"2026/{number}",
            decision_date=today - timedelta(days=days_ago),
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
            deadline=today + timedelta(days=240 - days_ago),
        )

    def _task(self, order, step):
        return order.task_set.get(
            flow_task_type="HUMAN", status__in=["NEW", "ASSIGNED"], flow_task__endswith=f".{step}"
        )

    def _plan(self, order, municipality):
        course = Course.objects.get(provider="skil", title="Vanedannende legemidler (VLM)")
        # Synthetic terms for the demo, so the GP reads them before accepting (the real ones
        # are SKIL's, entered in the catalog by its administrators).
        course.terms = (
            "(Demotekst) Du deltar på alle tre kollegagruppemøtene i kvalitetspakken og "
            "gjennomfører e-læringsmodulen før hvert møte. Du godtar vilkårene innen 14 dager "
            "etter påmeldingen."
        )
        course.save(update_fields=["terms"])
        measures = [
            {
                "kind": Measure.Kind.COURSE,
                "course": course,
                "description": "Kollegagruppe ved legevakten",
                "planned_completion": order.deadline - timedelta(days=30),
            }
        ]
        if order.requires_supervision:
            today = timezone.localdate()
            measures.append(
                {
                    "kind": Measure.Kind.SUPERVISION,
                    "course": None,
                    "supervisor": self.supervisor,
                    "agreed_sessions": 6,
                    "period_start": today - timedelta(days=60),
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

    def _carry_out(self, order, municipality, *, meetings_attended=3, sessions_held=6, report=True):
        """Do the measures through the same services the pages use, with past dates."""
        today = timezone.localdate()
        leader, gp = self.leaders[municipality], order.health_personnel.user
        for measure in order.measures.select_related("course"):
            if measure.is_course:
                services.enrol_in_course(
                    measure=measure,
                    acting_user=leader,
                    enrolled_on=today - timedelta(days=150),
                    group_name="Kollegagruppe Sentrum",
                    group_leader="Gruppeleder (syntetisk)",
                    meeting_dates=[today - timedelta(days=d) for d in (120, 75, 30)],
                )
                services.accept_course_terms(measure=measure, acting_user=gp)
                for meeting in measure.meetings.all()[:meetings_attended]:
                    services.record_attendance(
                        meeting=meeting, acting_user=leader, attendance="attended"
                    )
            else:
                for day in range(sessions_held):
                    services.record_supervision_session(
                        measure=measure,
                        acting_user=self.supervisor.user,
                        date=today - timedelta(days=55 - day * 7),
                        duration_minutes=60,
                        topic="Forskrivning av vanedannende legemidler",
                        status="held",
                    )
                if report:
                    services.submit_supervision_report(
                        measure=measure,
                        acting_user=self.supervisor.user,
                        report="Veiledningen er gjennomført som avtalt. Syntetisk rapport.",
                    )

    def _acknowledge(self, order):
        services.acknowledge_plan(
            task=self._task(order, "acknowledge"), acting_user=order.health_personnel.user
        )

    def _confirm(self, order, municipality, name):
        self._carry_out(order, municipality)
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

    def _orders(self, fake):
        today = timezone.localdate()
        self._issue(1001, "sfoa", "oslo", days_ago=10)  # awaiting the municipality's plan
        o = self._issue(1002, "sfoa", "oslo", gp_index=1, days_ago=30)  # awaiting the GP
        self._plan(o, "oslo")
        o = self._issue(1003, "vestland", "bergen", days_ago=90)  # measures under way
        self._plan(o, "bergen")
        self._acknowledge(o)
        self._carry_out(o, "bergen", meetings_attended=2)
        # Course terms not accepted within 14 days of enrolment.
        o = self._issue(1011, "sfoa", "oslo", gp_index=1, days_ago=45)
        self._plan(o, "oslo")
        self._acknowledge(o)
        measure = o.measures.get(kind=Measure.Kind.COURSE)
        services.enrol_in_course(
            measure=measure,
            acting_user=self.leaders["oslo"],
            enrolled_on=today - timedelta(days=20),
            group_name="Kollegagruppe Vest",
            group_leader="Gruppeleder (syntetisk)",
            meeting_dates=[today + timedelta(days=d) for d in (20, 80, 140)],
        )
        o = self._issue(1004, "sfoa", "oslo", days_ago=200)  # awaiting sign-off
        self._plan(o, "oslo")
        self._acknowledge(o)
        self._confirm(o, "oslo", "kursbevis-vlm.pdf")
        o = self._issue(1005, "sfoa", "baerum", days_ago=210)  # sent back once
        self._plan(o, "baerum")
        self._acknowledge(o)
        self._confirm(o, "baerum", "deltakerliste.pdf")
        self._sign_off(o, "sfoa", Review.Outcome.RETURNED, "Kursbevis for tredje møte mangler.")
        o = self._issue(1006, "trondelag", "trondheim", days_ago=220)  # fulfilled
        self._plan(o, "trondheim")
        self._acknowledge(o)
        self._confirm(o, "trondheim", "kursbevis.pdf")
        self._sign_off(o, "trondelag", Review.Outcome.FULFILLED)
        o = self._issue(1007, "vestland", "voss", days_ago=40)  # withdrawn
        services.withdraw_order(
            order=o,
            acting_user=self.caseworkers["vestland"],
            reason="Feil person registrert i saken.",
        )
        o = self._issue(1008, "sfoa", "baerum", gp_index=1, days_ago=12)  # under appeal
        services.register_appeal(
            order=o,
            acting_user=self.caseworkers["sfoa"],
            received_on=today - timedelta(days=3),
            note="Klage mottatt per brev.",
        )
        o = self._issue(1009, "helsetilsynet", "bergen", gp_index=1, days_ago=50)  # appeal reversed
        appeal = services.register_appeal(
            order=o,
            acting_user=self.caseworkers["helsetilsynet"],
            received_on=today - timedelta(days=40),
        )
        services.decide_appeal(
            appeal=appeal,
            acting_user=self.caseworkers["helsetilsynet"],
            outcome="reversed",
            decided_by="nemnd",
            decided_on=today - timedelta(days=5),
            note="Nemnda opphevet vedtaket.",
        )
        o = self._issue(1010, "sfoa", "oslo", days_ago=100)  # extended deadline
        services.extend_deadline(
            order=o,
            acting_user=self.caseworkers["sfoa"],
            new_deadline=o.deadline + timedelta(days=60),
            reason="Kurset starter først etter sommeren.",
        )

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
