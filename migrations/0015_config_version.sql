-- The case configuration's version: every change to the tables a case is
-- handled by (by import, the admin page or by hand) moves it on in the same
-- transaction. Servers keep the configuration in memory and read only this
-- number per request: a change reaches the next report on every server.
CREATE TABLE config_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version bigint NOT NULL
);
INSERT INTO config_version (version) VALUES (1);

CREATE FUNCTION config_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET version = version + 1;
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
