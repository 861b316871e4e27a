"""The cache table (settings.CACHES): in the database, so that every node sees the same cache
(OpenID Connect's spent login states above all). Made here rather than by a separate
``createcachetable`` step, so that `migrate` is the one command a deployment runs."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "palegg_cache"


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("municipalities", "0008_local_user_sessions")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
