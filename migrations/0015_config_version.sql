-- The case configuration's version: every change to the tables a case is
-- handled by (by import, the admin page or by hand) gives it a new random
-- value in the same transaction (random, not counted: a database dropped and
-- made again under the same name does not meet its old numbers). Servers keep the configuration in memory and read only this
-- number per request: a change reaches the next report on every server.
CREATE TABLE config_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version bigint NOT NULL
);
INSERT INTO config_version (version) VALUES (1);

CREATE FUNCTION config_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET version = (random() * 9.2e18)::bigint;
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['classes', 'departments', 'routing_rules', 'sla_rules', 'case_rules', 'calendar'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION config_version_bump()', t || '_config_version', t);
    END LOOP;
END $$;
