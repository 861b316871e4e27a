"""Access events keep only the indexes their reads use (EXPLAIN on 1.3 million events): every
index is written with every event, while the chain head is locked.

Gone: the case id's own index (the first column of the case/outcome/time index, which innsyn and
the timeline use), the object id's (no read filters on it alone; the operators' admin search ORs
it with the user name, which no index serves), and the LIKE copies of all three (nothing matches
a pattern). The action's index stays, for a search on a rare action: renamed to its Meta name,
not built again, so the log is not locked for writes while it would be.
"""

from django.db import migrations, models

ACTION_INDEX = "audit_accessevent_action_b0f3d97b"
ACTION_LIKE_INDEX = "audit_accessevent_action_b0f3d97b_like"
NEW_ACTION_INDEX = "audit_acces_action_6957c3_idx"


def _rename_index(schema_editor, old, new):
    quote = schema_editor.quote_name
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX {quote(old)} RENAME TO {quote(new)}")
    else:
        # SQLite cannot rename an index; its databases here are small.
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(old)}")
        schema_editor.execute(f'CREATE INDEX {quote(new)} ON "audit_accessevent" ("action")')


def keep_the_action_index(apps, schema_editor):
    _rename_index(schema_editor, ACTION_INDEX, NEW_ACTION_INDEX)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(ACTION_LIKE_INDEX)}")


def restore_the_action_indexes(apps, schema_editor):
    _rename_index(schema_editor, NEW_ACTION_INDEX, ACTION_INDEX)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(ACTION_LIKE_INDEX)} "
            'ON "audit_accessevent" ("action" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0008_chain_head_plural_name"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accessevent",
            name="case_id",
            field=models.CharField(blank=True, max_length=50, verbose_name="case"),
        ),
        migrations.AlterField(
            model_name="accessevent",
            name="target_id",
            field=models.CharField(max_length=50, verbose_name="object id"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="accessevent",
                    name="action",
                    field=models.CharField(max_length=50, verbose_name="action"),
                ),
                migrations.AddIndex(
                    model_name="accessevent",
                    index=models.Index(fields=["action"], name=NEW_ACTION_INDEX),
                ),
            ],
            database_operations=[
                migrations.RunPython(keep_the_action_index, restore_the_action_indexes),
            ],
        ),
    ]
