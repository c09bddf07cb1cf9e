-- A phone number the reporter left to be called back on (a citizen at a
-- kiosk, an Open311 client's `phone`). Staff see it; the public view never.
ALTER TABLE reports ADD COLUMN callback_phone text
    CHECK (callback_phone ~ '^[0-9+() -]{5,24}$');
