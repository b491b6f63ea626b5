-- Version 2 → 3: bookings have an entry in the open ledger. Bookings and sessions from before
-- are not in the ledger; it starts with what happens after the upgrade.
ALTER TABLE bookings ADD COLUMN ledger_entry TEXT;
ALTER TABLE bookings ADD COLUMN ledger_index INTEGER;
