-- The areas an inspector patrols (district, street, community or grid
-- codes): their cases to verify come first on the inspector's phone.
ALTER TABLE users ADD COLUMN patrol text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(patrol) <= 200);
