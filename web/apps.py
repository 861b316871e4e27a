from django.apps import AppConfig


class WebConfig(AppConfig):
    # No models: only pages, templates and management commands.
    name = "web"
