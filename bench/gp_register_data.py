"""Synthetic fastlegeregister extracts (Faker's no_NO locale; HPR and organisation numbers are
made up, the organisation numbers pass the mod-11 check).

Run as a script to rewrite the example file in municipalities/data/:

    .venv/bin/python bench/gp_register_data.py
"""

import csv
import random
from pathlib import Path

from faker import Faker
from stdnum.no import orgnr

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "municipalities" / "data" / "fastlegeregister-eksempel.csv"

HEADER = [
    "hpr_nummer",
    "lege_navn",
    "kommunenummer",
    "legekontor",
    "legekontor_orgnr",
    "adresse",
    "postnummer",
    "poststed",
    "listelengde",
    "ledig_liste",
]

# Real municipality numbers (2024) with a post code range and post town in each.
MUNICIPALITIES = [
    ("0301", "Oslo", "Oslo", 150, "Oslo"),
    ("3201", "Bærum", "Akershus", 1337, "Sandvika"),
    ("4601", "Bergen", "Vestland", 5003, "Bergen"),
    ("4621", "Voss", "Vestland", 5700, "Voss"),
    ("5001", "Trondheim", "Trøndelag", 7010, "Trondheim"),
    ("1103", "Stavanger", "Rogaland", 4006, "Stavanger"),
    ("1108", "Sandnes", "Rogaland", 4306, "Sandnes"),
    ("4204", "Kristiansand", "Agder", 4610, "Kristiansand S"),
    ("3907", "Sandefjord", "Vestfold", 3210, "Sandefjord"),
    ("3301", "Drammen", "Buskerud", 3015, "Drammen"),
    ("3403", "Hamar", "Innlandet", 2317, "Hamar"),
    ("1507", "Ålesund", "Møre og Romsdal", 6002, "Ålesund"),
    ("1804", "Bodø", "Nordland", 8006, "Bodø"),
    ("5501", "Tromsø", "Troms", 9008, "Tromsø"),
    ("3103", "Moss", "Østfold", 1530, "Moss"),
    ("5601", "Alta", "Finnmark", 9510, "Alta"),
]

OFFICE_KINDS = ["legesenter", "legekontor", "legesenteret", "legegruppe", "helsehus"]


def org_number(prefix: int) -> str:
    """The first valid organisation number from the eight-digit ``prefix`` on."""
    while True:
        for digit in range(10):
            if orgnr.is_valid(f"{prefix}{digit}"):
                return f"{prefix}{digit}"
        prefix += 1


def offices(count, *, municipalities, org_base, fake, rng):
    """``count`` offices spread over ``municipalities``, with distinct organisation numbers."""
    result, prefix = [], org_base
    for n in range(count):
        number, _name, _county, postcode, town = municipalities[n % len(municipalities)]
        org = org_number(prefix)
        prefix = int(org[:8]) + 1
        result.append(
            {
                "kommunenummer": number,
                "legekontor": f"{fake.last_name()} {rng.choice(OFFICE_KINDS)}",
                "legekontor_orgnr": org,
                "adresse": fake.street_address(),
                "postnummer": f"{postcode + rng.randrange(0, 8):04d}",
                "poststed": town,
            }
        )
    return result


def gp_rows(count, *, offices, hpr_base, fake, rng):
    """``count`` GPs with consecutive HPR numbers from ``hpr_base``, spread over ``offices``."""
    rows = []
    for n in range(count):
        office = offices[n % len(offices)]
        rows.append(
            {
                "hpr_nummer": str(hpr_base + n),
                "lege_navn": f"{fake.first_name()} {fake.last_name()}",
                **office,
                "listelengde": str(rng.randrange(400, 1800)),
                "ledig_liste": rng.choice(["ja", "nei", "nei"]),
            }
        )
    return rows


def write(path, rows, *, header=HEADER):
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, header, delimiter=";", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def example():
    """About 30 GPs at eight offices in the five municipalities of the demo data."""
    fake, rng = Faker("no_NO"), random.Random(2026)
    fake.seed_instance(2026)
    the_offices = offices(
        8, municipalities=MUNICIPALITIES[:5], org_base=93_100_000, fake=fake, rng=rng
    )
    return gp_rows(30, offices=the_offices, hpr_base=9_200_101, fake=fake, rng=rng)


if __name__ == "__main__":
    write(EXAMPLE, example())
    print(f"wrote {EXAMPLE.relative_to(ROOT)}")
