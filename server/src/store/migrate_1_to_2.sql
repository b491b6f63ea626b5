-- Version 1 → 2: holds know their client and address; bookings their person, phone and late
-- cancellations. Rows from before have none and count for no rule.
ALTER TABLE holds ADD COLUMN client_id TEXT;
ALTER TABLE holds ADD COLUMN address_hash TEXT;
ALTER TABLE bookings ADD COLUMN person_hash TEXT;
ALTER TABLE bookings ADD COLUMN phone_hash TEXT;
ALTER TABLE bookings ADD COLUMN cancelled_ts INTEGER;
ALTER TABLE bookings ADD COLUMN late_cancel INTEGER NOT NULL DEFAULT 0 CHECK (late_cancel IN (0, 1));
ALTER TABLE bookings ADD COLUMN address_hash TEXT;
ALTER TABLE bookings ADD COLUMN direct_ms INTEGER;
