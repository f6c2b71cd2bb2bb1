"""A published release is immutable for any client of the database, and the records of
publishing cannot be truncated.

The services never change a published release (a correction is a new release); raw SQL
could set one back to draft, move its publication instant, or delete it. A trigger
refuses that now, and checks a release becoming published: it needs its instant, not
ahead of the database's clock (a minute of leeway for the application server's), and
reports it to the observations' guard (stats/migrations/0006), which lets rows take a
``valid_from`` only at the instant of their release's publication, in the same
transaction. Deleting a user sets ``created_by`` to NULL, so that column and
``updated_at`` may still change.

``TRUNCATE`` of the releases, the news releases and the audit trail is refused (the
function of stats 0006), and the application role may insert audit entries but not
change or delete them, as the model already refuses.
"""

from django.conf import settings
from django.db import migrations

GUARD = """
CREATE FUNCTION publications_release_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'published' THEN
            RAISE EXCEPTION 'published release % cannot be deleted', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'published' THEN
        IF (NEW.status, NEW.published_at, NEW.slug, NEW.title_id, NEW.title_en,
            NEW.summary_id, NEW.summary_en, NEW.source, NEW.scheduled_for, NEW.corrects_id,
            NEW.correction_reason, NEW.submitted_by_id, NEW.submitted_at, NEW.approved_by_id,
            NEW.approved_at)
        IS DISTINCT FROM (OLD.status, OLD.published_at, OLD.slug, OLD.title_id, OLD.title_en,
            OLD.summary_id, OLD.summary_en, OLD.source, OLD.scheduled_for, OLD.corrects_id,
            OLD.correction_reason, OLD.submitted_by_id, OLD.submitted_at, OLD.approved_by_id,
            OLD.approved_at) THEN
            RAISE EXCEPTION 'published release % cannot be changed (its status, publication '
                'instant and content are fixed; a correction is a new release)', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.status = 'published' THEN
        IF NEW.published_at IS NULL THEN
            RAISE EXCEPTION 'release % cannot be published without its instant (published_at)',
                NEW.id USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.published_at > clock_timestamp() + interval '1 minute' THEN
            RAISE EXCEPTION 'release % cannot be published at %, which is in the future: '
                'schedule it instead', NEW.id, NEW.published_at
                USING ERRCODE = 'check_violation';
        END IF;
        INSERT INTO stats_vintage_pending (kind, release_id, at)
            VALUES ('r', NEW.id, NEW.published_at);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION publications_release_guard() SET search_path = %I, pg_temp',
        current_schema());
END;
$$;
REVOKE ALL ON FUNCTION publications_release_guard() FROM PUBLIC;

CREATE TRIGGER publications_release_guard BEFORE INSERT OR UPDATE OR DELETE
    ON publications_release FOR EACH ROW EXECUTE FUNCTION publications_release_guard();
CREATE TRIGGER publications_release_truncate BEFORE TRUNCATE ON publications_release
    FOR EACH STATEMENT EXECUTE FUNCTION record_truncate_refuse();
CREATE TRIGGER publications_newsrelease_truncate BEFORE TRUNCATE ON publications_newsrelease
    FOR EACH STATEMENT EXECUTE FUNCTION record_truncate_refuse();
CREATE TRIGGER publications_auditentry_truncate BEFORE TRUNCATE ON publications_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION record_truncate_refuse();
"""

GUARD_DROP = """
DROP TRIGGER IF EXISTS publications_auditentry_truncate ON publications_auditentry;
DROP TRIGGER IF EXISTS publications_newsrelease_truncate ON publications_newsrelease;
DROP TRIGGER IF EXISTS publications_release_truncate ON publications_release;
DROP TRIGGER IF EXISTS publications_release_guard ON publications_release;
DROP FUNCTION IF EXISTS publications_release_guard();
"""


def _app_role(schema_editor) -> str | None:
    role = settings.DATABASE_APP_ROLE
    return schema_editor.quote_name(role) if role else None


def audit_append_only(apps, schema_editor):
    role = _app_role(schema_editor)
    if role:
        schema_editor.execute(
            f"REVOKE UPDATE, DELETE, TRUNCATE ON publications_auditentry FROM {role}", params=None
        )


def audit_writable(apps, schema_editor):
    role = _app_role(schema_editor)
    if role:
        schema_editor.execute(
            f"GRANT UPDATE, DELETE ON publications_auditentry TO {role}", params=None
        )


class Migration(migrations.Migration):
    dependencies = [
        ("publications", "0007_recompute_retry"),
        ("stats", "0008_vintage_guard_and_app_role"),
    ]

    operations = [
        migrations.RunSQL(GUARD, GUARD_DROP),
        migrations.RunPython(audit_append_only, audit_writable),
    ]
