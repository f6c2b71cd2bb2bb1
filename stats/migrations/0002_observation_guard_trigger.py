"""On PostgreSQL, a trigger refuses to delete or change a published observation.

The application refuses too (ObservationQuerySet, admin permissions); the trigger
makes the promise hold for any client of the database, raw SQL included. Closing a
vintage (setting valid_to once) and publishing a draft (setting valid_from once) are
the only changes a published row may see.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION stats_observation_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.valid_from IS NOT NULL THEN
            RAISE EXCEPTION 'published observation % cannot be deleted', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.valid_from IS NOT NULL AND (
        NEW.valid_from IS DISTINCT FROM OLD.valid_from
        OR NEW.value <> OLD.value OR NEW.series_id <> OLD.series_id
        OR NEW.period <> OLD.period OR NEW.release_id <> OLD.release_id
        OR NEW.status <> OLD.status OR NEW.note <> OLD.note OR NEW.source <> OLD.source
        OR NEW.reference_date IS DISTINCT FROM OLD.reference_date
        OR NEW.provenance::text IS DISTINCT FROM OLD.provenance::text
        OR (OLD.valid_to IS NOT NULL AND NEW.valid_to IS DISTINCT FROM OLD.valid_to)
    ) THEN
        RAISE EXCEPTION 'published observation % cannot be changed', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS stats_observation_guard ON stats_observation;
CREATE TRIGGER stats_observation_guard BEFORE UPDATE OR DELETE ON stats_observation
    FOR EACH ROW EXECUTE FUNCTION stats_observation_guard();
"""
DROP = """
DROP TRIGGER IF EXISTS stats_observation_guard ON stats_observation;
DROP FUNCTION IF EXISTS stats_observation_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("stats", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
