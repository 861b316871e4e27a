"""Dates and numbers in Norwegian as the Language Council (Språkrådet) writes them, the same in
bokmål and nynorsk: «1. desember 2026», «1. desember 2026 kl. 08.42», «1 155». The nb and nn
format modules take Django's own for their language and then these."""

DATE_FORMAT = "j. F Y"
DATETIME_FORMAT = r"j. F Y \k\l. H.i"
SHORT_DATE_FORMAT = "j. F Y"
SHORT_DATETIME_FORMAT = r"j. F Y \k\l. H.i"
TIME_FORMAT = "H.i"
THOUSAND_SEPARATOR = "\u00a0"
NUMBER_GROUPING = 3
