"""Vintages guarded for any client of the database, and the application's own role.

The guard trigger of migration 0002 refuses changing or deleting a published row, but
allowed closing one (setting ``valid_to``) with nothing after it, which withdraws the
value from every current read, and allowed a draft a ``valid_from`` of any instant.
The rules now, checked when the transaction commits (a deferred constraint trigger),
whatever client wrote the rows:

- a row closed in a transaction must be followed, in that transaction, by a row of the
  same series and period published at the instant it was closed, later than it started:
  its successor (a revision; nothing is withdrawn);
- a row is given a ``valid_from`` (published) only at the instant its release is
  published, in the same transaction (the release's trigger reports that instant:
  publications/migrations/0007);
- a row published in a transaction starts after every vintage of its series and period
  published before the transaction: history before it is not rewritten;
- a row is never inserted closed, nor published closed (the row guard of 0002 gains
  that rule); an UPDATE that leaves a published row as it was counts as closing or
  publishing it again, and is refused at commit (no service does it);
- ``TRUNCATE stats_observation`` is refused.

Cost: the row guard gets one comparison more; the rest runs once per statement over its
new rows (a transition table) and records, as arrays, the rows the statement published
or closed in ``stats_vintage_pending``, an unlogged table private to the guard; the check
at commit is an aggregate over those arrays (no lookup in stats_observation) and empties
it.

The functions that write the pending rows run as their owner (SECURITY DEFINER, with the
search path fixed so a temporary table cannot stand in for a real one): the application
role (config/dbrole.py) cannot write that table, so it cannot erase what its own
transaction did before the check reads it. The functions of 0004 get the same search
path for the same reason.

Last, the application role: created when missing (NOLOGIN; production creates it with
LOGIN, README), allowed to read and write the rows of every table and use the sequences,
now and (default privileges) for the tables of later migrations, never the pending
table. It owns nothing, so ``ALTER TABLE ... DISABLE TRIGGER`` and ``TRUNCATE`` are
refused to it.
"""

from importlib import import_module

from django.conf import settings
from django.db import migrations

# Undone, the row guard is 0002's again.
ROW_GUARD_0002 = import_module("stats.migrations.0002_observation_guard_trigger").CREATE

GUARD = """
CREATE UNLOGGED TABLE stats_vintage_pending (
    xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
    -- 'c': rows one statement closed; 'n': rows one statement published (gave a
    -- valid_from); one element per row in each array. 'r': release_id became published
    -- at ``at`` (written by the release's trigger, publications/migrations/0007).
    kind "char" NOT NULL,
    release_id bigint,
    at timestamptz,
    series_ids bigint[],
    periods text[],
    release_ids bigint[],
    valid_froms timestamptz[],
    valid_tos timestamptz[]
);
-- Written once and read once, within a transaction: not worth compressing.
ALTER TABLE stats_vintage_pending ALTER COLUMN series_ids SET STORAGE EXTERNAL,
    ALTER COLUMN periods SET STORAGE EXTERNAL, ALTER COLUMN release_ids SET STORAGE EXTERNAL,
    ALTER COLUMN valid_froms SET STORAGE EXTERNAL, ALTER COLUMN valid_tos SET STORAGE EXTERNAL;

CREATE FUNCTION stats_vintage_inserted() RETURNS trigger AS $$
DECLARE
    closed bigint;
BEGIN
    SELECT n.id INTO closed FROM new_rows AS n WHERE n.valid_to IS NOT NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'observation % cannot be inserted closed (valid_to): a vintage is '
            'closed only when its successor is published', closed
            USING ERRCODE = 'restrict_violation';
    END IF;
    INSERT INTO stats_vintage_pending (kind, series_ids, periods, release_ids, valid_froms)
        SELECT 'n', array_agg(n.series_id), array_agg(n.period), array_agg(n.release_id),
            array_agg(n.valid_from)
        FROM new_rows AS n WHERE n.valid_from IS NOT NULL HAVING count(*) > 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;

-- Without the old rows: the row guard (below) lets an UPDATE change a published row only
-- by closing it, and publish a draft only as current. So in an UPDATE's new rows, a
-- published one that is current was published by it, and a closed one was closed by it;
-- a published row the statement left as it was counts so too, and is refused at commit
-- (no successor; not its release's publication), which no service does.
CREATE FUNCTION stats_vintage_updated() RETURNS trigger AS $$
BEGIN
    INSERT INTO stats_vintage_pending (kind, series_ids, periods, release_ids, valid_froms,
        valid_tos)
        SELECT CASE WHEN n.valid_to IS NULL THEN 'n' ELSE 'c' END, array_agg(n.series_id),
            array_agg(n.period), array_agg(n.release_id), array_agg(n.valid_from),
            array_agg(n.valid_to)
        FROM new_rows AS n WHERE n.valid_from IS NOT NULL GROUP BY n.valid_to IS NULL;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;

-- The row guard of 0002, and: a draft is published current (valid_to stays NULL).
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
    IF OLD.valid_from IS NULL AND NEW.valid_to IS NOT NULL THEN
        RAISE EXCEPTION 'observation % cannot be published closed (valid_to): a vintage is '
            'closed only when its successor is published', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- At commit. Per series and period, the rows published in the transaction (N, by their
-- valid_from) and the rows closed in it (C: the one current before it, and rows of N)
-- must tile time: each row of C closes after it starts, at the start of a row of N,
-- no two at the same instant; no two rows of N start at the same instant; and N starts
-- after the row current before the transaction (the latest vintage: the rules hold for
-- every transaction, so every earlier vintage started before it). Then each closed row
-- is followed by the row of N that starts next, one row is current (the unique index
-- obs_one_current_value allows no more), and no earlier instant changes. It is an
-- aggregate over the recorded rows, with no lookup in stats_observation. A publication
-- closes at most one row and publishes at most one per series and period, for which
-- the rule is three comparisons; only a transaction that publishes a series and period
-- twice (the demo's history, loaded at once) needs the general form.
CREATE FUNCTION stats_vintage_check() RETURNS trigger AS $$
DECLARE
    me xid8 := pg_current_xact_id();
    released bigint[];
    bad record;
    general boolean;
    refused boolean;
BEGIN
    -- One event per pending row: the first check of the transaction does the work.
    IF NOT EXISTS (SELECT 1 FROM stats_vintage_pending WHERE xact = me) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(array_agg(release_id), '{}') INTO released
        FROM stats_vintage_pending WHERE xact = me AND kind = 'r';

    SELECT u.release_id, u.valid_from INTO bad
        FROM stats_vintage_pending AS p,
            unnest(p.release_ids, p.valid_froms) AS u(release_id, valid_from)
        WHERE p.xact = me AND p.kind = 'n' AND NOT EXISTS (
            SELECT 1 FROM stats_vintage_pending AS r
            WHERE r.xact = me AND r.kind = 'r' AND r.release_id = u.release_id
                AND r.at = u.valid_from
        )
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'observations of release % were published at %, which is not the '
            'instant that release was published at in this transaction', bad.release_id,
            bad.valid_from
            USING ERRCODE = 'check_violation';
    END IF;

    WITH vintage AS (
        SELECT p.kind, u.* FROM stats_vintage_pending AS p,
            unnest(p.series_ids, p.periods, p.valid_froms, p.valid_tos)
                AS u(series_id, period, valid_from, valid_to)
        WHERE p.xact = me AND p.kind IN ('c', 'n')
    ), counted AS (
        SELECT series_id, period,
            count(*) FILTER (WHERE kind = 'c') AS closed_count,
            count(*) FILTER (WHERE kind = 'n') AS published_count,
            max(valid_from) FILTER (WHERE kind = 'c') AS closed_from,
            max(valid_to) FILTER (WHERE kind = 'c') AS closed_to,
            min(valid_from) FILTER (WHERE kind = 'n') AS published_from
        FROM vintage GROUP BY series_id, period
    )
    SELECT series_id, period, closed_to AS closed, published_from AS first_published,
            closed_from AS before,
            published_count = 0 OR published_from > closed_from AS after_history,
            closed_count > 1 OR published_count > 1 AS general
        INTO bad
        FROM counted
        WHERE closed_count > 1 OR published_count > 1 OR (closed_count = 1 AND NOT (
            published_count = 1 AND closed_to = published_from AND closed_to > closed_from
        ))
        ORDER BY closed_count > 1 OR published_count > 1
        LIMIT 1;
    general := FOUND AND bad.general;
    refused := FOUND AND NOT general;
    IF refused AND NOT bad.after_history THEN
        -- Unless the row closed is the one published (withdrawn, not backdated).
        bad.after_history := EXISTS (
            SELECT 1 FROM stats_vintage_pending AS p,
                unnest(p.series_ids, p.periods, p.release_ids) AS u(series_id, period, release_id)
            WHERE p.xact = me AND p.kind = 'c' AND u.series_id = bad.series_id
                AND u.period = bad.period AND u.release_id = ANY (released)
        );
    END IF;
    IF general THEN
        WITH vintage AS (
            SELECT p.kind, u.* FROM stats_vintage_pending AS p,
                unnest(p.series_ids, p.periods, p.release_ids, p.valid_froms, p.valid_tos)
                    AS u(series_id, period, release_id, valid_from, valid_to)
            WHERE p.xact = me AND p.kind IN ('c', 'n')
        ), checked AS (
            SELECT series_id, period,
                min(valid_from) FILTER (WHERE kind = 'n') AS first_published,
                max(valid_from) FILTER (WHERE kind = 'c' AND NOT release_id = ANY (released))
                    AS before,
                array_agg(valid_to ORDER BY valid_to) FILTER (WHERE kind = 'c') AS closed,
                coalesce(bool_and(valid_to > valid_from) FILTER (WHERE kind = 'c'), true)
                    AND count(DISTINCT valid_to) FILTER (WHERE kind = 'c')
                        = count(*) FILTER (WHERE kind = 'c')
                    AND coalesce(array_agg(valid_to) FILTER (WHERE kind = 'c'), '{}')
                        <@ coalesce(array_agg(valid_from) FILTER (WHERE kind = 'n'), '{}')
                    AS followed,
                count(DISTINCT valid_from) FILTER (WHERE kind = 'n')
                        = count(*) FILTER (WHERE kind = 'n')
                    AND coalesce(
                        max(valid_from) FILTER (
                            WHERE kind = 'c' AND NOT release_id = ANY (released)
                        ) < min(valid_from) FILTER (WHERE kind = 'n'),
                        true)
                    AS after_history
            FROM vintage GROUP BY series_id, period
        )
        SELECT * INTO bad FROM checked WHERE NOT (followed AND after_history) LIMIT 1;
        refused := FOUND;
    END IF;
    IF refused AND NOT bad.after_history THEN
        RAISE EXCEPTION 'an observation of series %, period % cannot be published at %: '
            'it must start after its latest vintage (published at %) and with no other '
            'vintage at the same instant, so that history is not rewritten',
            bad.series_id, bad.period, bad.first_published, bad.before
            USING ERRCODE = 'check_violation';
    ELSIF refused THEN
        RAISE EXCEPTION 'a published observation of series %, period % was closed (at %) '
            'without a successor published at that instant in the same transaction: a '
            'published value cannot be withdrawn', bad.series_id, bad.period, bad.closed
            USING ERRCODE = 'restrict_violation';
    END IF;

    DELETE FROM stats_vintage_pending WHERE xact = me;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;

-- Refuses TRUNCATE of a table that is a record (publications/migrations/0007 uses it too).
CREATE FUNCTION record_truncate_refuse() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is a record and cannot be truncated', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY[
        'stats_vintage_inserted()', 'stats_vintage_updated()', 'stats_vintage_check()',
        'stats_observation_references_check()', 'stats_observation_reference_changed()',
        'stats_referenced_delete_refuse()'
    ] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', name, current_schema());
    END LOOP;
END;
$$;
-- The check's aggregate holds a group per series and period of the transaction: in
-- memory, not spilled to disk, for a publication of a few hundred thousand rows.
ALTER FUNCTION stats_vintage_check() SET work_mem = '64MB';
REVOKE ALL ON FUNCTION stats_vintage_inserted(), stats_vintage_updated(), stats_vintage_check()
    FROM PUBLIC;
REVOKE ALL ON stats_vintage_pending FROM PUBLIC;

CREATE TRIGGER stats_observation_vintage_insert AFTER INSERT ON stats_observation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stats_vintage_inserted();
CREATE TRIGGER stats_observation_vintage_update AFTER UPDATE ON stats_observation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stats_vintage_updated();
CREATE CONSTRAINT TRIGGER stats_vintage_check AFTER INSERT ON stats_vintage_pending
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION stats_vintage_check();
CREATE TRIGGER stats_observation_truncate BEFORE TRUNCATE ON stats_observation
    FOR EACH STATEMENT EXECUTE FUNCTION record_truncate_refuse();
"""

GUARD_DROP = """
DROP TRIGGER IF EXISTS stats_observation_truncate ON stats_observation;
DROP TRIGGER IF EXISTS stats_observation_vintage_update ON stats_observation;
DROP TRIGGER IF EXISTS stats_observation_vintage_insert ON stats_observation;
DROP TABLE IF EXISTS stats_vintage_pending;
DROP FUNCTION IF EXISTS record_truncate_refuse();
DROP FUNCTION IF EXISTS stats_vintage_check();
DROP FUNCTION IF EXISTS stats_vintage_updated();
DROP FUNCTION IF EXISTS stats_vintage_inserted();
ALTER FUNCTION stats_observation_references_check() RESET search_path;
ALTER FUNCTION stats_observation_reference_changed() RESET search_path;
ALTER FUNCTION stats_referenced_delete_refuse() RESET search_path;
""" + ROW_GUARD_0002

# The role's name is the setting's, checked to be a plain identifier (config/settings.py);
# {role} is replaced, quoted, before the statement runs.
ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {role_text}) THEN
        BEGIN
            CREATE ROLE {role} NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created by a concurrent migration of another database
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'the database role % (DATABASE_APP_ROLE) does not exist and '
                    '% may not create it: create it (CREATE ROLE % LOGIN PASSWORD ...), or '
                    'set DATABASE_APP_ROLE empty to run as the owner',
                    {role_text}, session_user, {role_text};
        END;
    END IF;
    -- Where the application logs in as the owner (development, tests), it takes the
    -- role with SET ROLE, for which the owner must be a member. Where it logs in as the
    -- role itself (production) that is not needed, and the owner may not grant it.
    IF NOT pg_has_role(session_user, {role_text}, 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT %I TO %I', {role_text}, session_user);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE '% is not a member of %: log in as % to run the application',
                session_user, {role_text}, {role_text};
        END;
    END IF;
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
        current_schema(), {role_text});
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I',
        current_schema(), {role_text});
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
        'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', current_schema(), {role_text});
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I',
        current_schema(), {role_text});
    -- Granted to PUBLIC by default; said explicitly where the owner may (the derived
    -- engine makes temporary tables), left to the database's owner where it may not.
    BEGIN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), {role_text});
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I',
            current_database(), {role_text});
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'the owner of the database or of schema % must grant % CONNECT, '
            'TEMPORARY and USAGE', current_schema(), {role_text};
    END;
END;
$$;
REVOKE ALL ON stats_vintage_pending FROM {role};
"""

ROLE_DROP = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {role_text}) THEN
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
            'REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM %I',
            current_schema(), {role_text});
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
            'REVOKE USAGE, SELECT ON SEQUENCES FROM %I', current_schema(), {role_text});
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I',
            current_schema(), {role_text});
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I',
            current_schema(), {role_text});
    END IF;
END;
$$;
"""


def _role_sql(template: str, schema_editor) -> str | None:
    role = settings.DATABASE_APP_ROLE
    if not role:
        return None
    return template.format(
        role=schema_editor.quote_name(role), role_text=schema_editor.quote_value(role)
    )


def app_role_grant(apps, schema_editor):
    statement = _role_sql(ROLE, schema_editor)
    if statement:
        schema_editor.execute(statement, params=None)


def app_role_revoke(apps, schema_editor):
    statement = _role_sql(ROLE_DROP, schema_editor)
    if statement:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("stats", "0007_opendata")]
    operations = [
        migrations.RunSQL(GUARD, GUARD_DROP),
        migrations.RunPython(app_role_grant, app_role_revoke),
    ]
