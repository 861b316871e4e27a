"""The chain head's PostgreSQL trigger: the head only moves forward, to an event that exists.

django-pgtrigger lets any session set a trigger aside (``pgtrigger.ignore`` is a setting every
role may change), which is harmless where the runtime role has no privilege to begin with, but
the runtime role must update the head. So this trigger is set aside only for a role with the
table owner's rights (tests, repairs); for everyone else it always runs.
"""

import pgtrigger
from pgtrigger import compiler


class OwnerOnlyIgnoreTriggerSql(compiler.UpsertTriggerSql):
    """pgtrigger's installation SQL, except that ``pgtrigger.ignore`` is obeyed only for a role
    that has the rights of the table's owner. Version 1: migrations name this class, so change
    the template only together with a new class (as pgtrigger does with its own)."""

    def get_template(self) -> str:
        return """
            CREATE OR REPLACE FUNCTION {pgid}()
            RETURNS TRIGGER AS $$
                {declare}
                BEGIN
                    IF TG_NAME = ANY(COALESCE(
                        NULLIF(current_setting('pgtrigger.ignore', true), '')::text[],
                        '{{}}'::text[]
                    )) AND pg_has_role(
                        current_user,
                        (SELECT relowner FROM pg_class WHERE oid = TG_RELID),
                        'USAGE'
                    ) THEN
                        IF (TG_OP = 'DELETE') THEN
                            RETURN OLD;
                        ELSE
                            RETURN NEW;
                        END IF;
                    END IF;
                    {func}
                END;
            $$ LANGUAGE plpgsql;

            DROP TRIGGER IF EXISTS {pgid} ON {table};
            CREATE {constraint} TRIGGER {pgid}
                {when} {operation} ON {table}
                {timing}
                {referencing}
                FOR EACH {level} {condition}
                EXECUTE PROCEDURE {execute};

            COMMENT ON TRIGGER {pgid} ON {table} IS '{hash}';
        """


class OwnerOnlyIgnoreTrigger(pgtrigger.Trigger):
    """A pgtrigger Trigger installed with :class:`OwnerOnlyIgnoreTriggerSql`."""

    def compile(self, model):
        compiled = super().compile(model)
        return compiler.Trigger(
            name=compiled.name, sql=OwnerOnlyIgnoreTriggerSql(**compiled.sql.kwargs)
        )


def forward_only_head(events_table: str) -> OwnerOnlyIgnoreTrigger:
    """The head is never removed and never moves back; its hash changes only to the hash of the
    event with its sequence number, which must already be in ``events_table``. That is what
    audit.chain.append does: the head locked, the event inserted after it, then the head moved
    to the event, in one statement (whose insert the trigger's query sees). A fresh head
    (after a flush) starts at #0 with no hash."""
    return OwnerOnlyIgnoreTrigger(
        name="forward_only",
        when=pgtrigger.Before,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        func=f"""
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'audit chain head: the head of the access log is never removed';
            END IF;
            IF TG_OP = 'UPDATE' THEN
                IF NEW.id <> OLD.id THEN
                    RAISE EXCEPTION 'audit chain head: the head keeps its id';
                END IF;
                IF NEW.sequence < OLD.sequence THEN
                    RAISE EXCEPTION 'audit chain head: never moves back (from #% to #%)',
                        OLD.sequence, NEW.sequence;
                END IF;
                IF NEW.hash = OLD.hash THEN
                    RETURN NEW;
                END IF;
            ELSIF NEW.sequence = 0 AND NEW.hash = '' THEN
                RETURN NEW;
            END IF;
            IF NOT EXISTS (
                SELECT 1 FROM {events_table} WHERE sequence = NEW.sequence AND hash = NEW.hash
            ) THEN
                RAISE EXCEPTION
                    'audit chain head: #% with hash % is not an event in the access log',
                    NEW.sequence, NEW.hash;
            END IF;
            RETURN NEW;
        """,
    )
