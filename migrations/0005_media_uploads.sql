-- Who uploaded each photo: the same picture uploaded by two users is stored
-- once, and each of them may attach it. Nobody attaches a photo they only
-- know the id of.
CREATE TABLE media_uploads (
    media_id text NOT NULL REFERENCES media (id),
    user_id bigint NOT NULL REFERENCES users (id),
    PRIMARY KEY (media_id, user_id)
);
INSERT INTO media_uploads (media_id, user_id) SELECT id, uploaded_by FROM media;
