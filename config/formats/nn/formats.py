"""Django's formats for this language, with the Norwegian style of config.formats.norwegian
(the same in bokmål and nynorsk); the forms' input formats stay Django's."""

from django.conf.locale.nn.formats import *  # noqa: F403 - Django's, amended below

from config.formats.norwegian import *  # noqa: F403
