"""Dates and numbers in Norwegian as the Language Council (Språkrådet) writes them, the same in
bokmål and nynorsk: «1. desember 2026», «1. desember 2026 kl. 08.42», «1 155». Everything not
set here is Django's own for the language (the forms' input formats among them)."""

from django.conf.locale.nb.formats import *  # noqa: F403 - Django's, amended below

DATE_FORMAT = "j. F Y"
DATETIME_FORMAT = r"j. F Y \k\l. H.i"
SHORT_DATE_FORMAT = "j. F Y"
SHORT_DATETIME_FORMAT = r"j. F Y \k\l. H.i"
TIME_FORMAT = "H.i"
THOUSAND_SEPARATOR = "\u00a0"
NUMBER_GROUPING = 3
