-- Fairslot reference store. Times are kept twice: as RFC 3339 text with the hospital's offset
-- (what the API shows) and as integers (what queries compare): *_ts in Unix seconds, *_ms in
-- Unix milliseconds.

CREATE TABLE IF NOT EXISTS hospitals (
    id                 TEXT PRIMARY KEY,
    ord                INTEGER NOT NULL,
    name_zh            TEXT NOT NULL,
    name_en            TEXT NOT NULL,
    level              TEXT NOT NULL,
    district_id        TEXT NOT NULL,
    district_zh        TEXT NOT NULL,
    district_en        TEXT NOT NULL,
    address_zh         TEXT NOT NULL,
    address_en         TEXT NOT NULL,
    phone              TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS department_groups (
    id          TEXT PRIMARY KEY,
    hospital_id TEXT NOT NULL REFERENCES hospitals(id),
    ord         INTEGER NOT NULL,
    name_zh     TEXT NOT NULL,
    name_en     TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS departments (
    id             TEXT PRIMARY KEY,
    hospital_id    TEXT NOT NULL REFERENCES hospitals(id),
    group_id       TEXT NOT NULL REFERENCES department_groups(id),
    ord            INTEGER NOT NULL,
    name_zh        TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    description_zh TEXT,
    description_en TEXT
);

CREATE TABLE IF NOT EXISTS doctors (
    id            TEXT PRIMARY KEY,
    hospital_id   TEXT NOT NULL REFERENCES hospitals(id),
    department_id TEXT NOT NULL REFERENCES departments(id),
    ord           INTEGER NOT NULL,
    name_zh       TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    title         TEXT NOT NULL,
    specialty_zh  TEXT NOT NULL,
    specialty_en  TEXT NOT NULL,
    fee_fen       INTEGER NOT NULL,
    photo_url     TEXT
);
CREATE INDEX IF NOT EXISTS doctors_by_department ON doctors(department_id, ord);

-- status is only 'open' or 'stopped' (停诊); full and not-released are derived when read.
CREATE TABLE IF NOT EXISTS sessions (
    id            TEXT PRIMARY KEY,
    hospital_id   TEXT NOT NULL REFERENCES hospitals(id),
    department_id TEXT NOT NULL REFERENCES departments(id),
    doctor_id     TEXT NOT NULL REFERENCES doctors(id),
    date          TEXT NOT NULL,
    period        TEXT NOT NULL,
    period_ord    INTEGER NOT NULL,
    stopped       INTEGER NOT NULL CHECK (stopped IN (0, 1)),
    release_at    TEXT,
    release_ts    INTEGER,
    fee_fen       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_department ON sessions(department_id, date);
CREATE INDEX IF NOT EXISTS sessions_by_hospital ON sessions(hospital_id, date);
CREATE INDEX IF NOT EXISTS sessions_by_doctor ON sessions(doctor_id, date);

CREATE TABLE IF NOT EXISTS slots (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    start      TEXT NOT NULL,
    "end"      TEXT NOT NULL,
    start_ts   INTEGER NOT NULL,
    capacity   INTEGER NOT NULL CHECK (capacity >= 0),
    -- The last line of defence against overbooking: no code path can take a place that is not there.
    remaining  INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= capacity)
);
CREATE INDEX IF NOT EXISTS slots_by_session ON slots(session_id, start_ts);

-- client_id is the app's random per-tab token; address_hash a keyed hash of the client's IP
-- address. Both exist to cap holds, and neither names a person.
CREATE TABLE IF NOT EXISTS holds (
    id           TEXT PRIMARY KEY,
    slot_id      TEXT NOT NULL REFERENCES slots(id),
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('active', 'released', 'expired', 'converted')),
    client_id    TEXT,
    address_hash TEXT
);
CREATE INDEX IF NOT EXISTS holds_by_state ON holds(state, expires_ms);
CREATE INDEX IF NOT EXISTS holds_by_slot ON holds(slot_id, state);
CREATE INDEX IF NOT EXISTS holds_by_client ON holds(client_id, created_ms);
CREATE INDEX IF NOT EXISTS holds_by_address ON holds(address_hash, created_ms);

CREATE TABLE IF NOT EXISTS bookings (
    code               TEXT PRIMARY KEY,
    slot_id            TEXT NOT NULL REFERENCES slots(id),
    hold_id            TEXT REFERENCES holds(id),
    status             TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    channel            TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL UNIQUE,
    fingerprint        TEXT NOT NULL,
    response_status    INTEGER NOT NULL,
    response_location  TEXT NOT NULL,
    response_body      TEXT NOT NULL,
    -- 就诊人 exactly as validated; only masked forms ever leave the server.
    patient_name       TEXT NOT NULL,
    document_kind      TEXT NOT NULL,
    document_number    TEXT NOT NULL,
    document_last4     TEXT NOT NULL,
    phone              TEXT NOT NULL,
    medical_card       TEXT,
    relationship       TEXT NOT NULL,
    fee_fen            INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    created_date       TEXT NOT NULL,
    cancel_deadline    TEXT NOT NULL,
    cancel_deadline_ts INTEGER NOT NULL,
    cancelled_at       TEXT,
    -- Keyed hashes (HMAC) of the document and the phone, for the booking rules (实名制).
    person_hash        TEXT,
    phone_hash         TEXT,
    cancelled_ts       INTEGER,
    late_cancel        INTEGER NOT NULL DEFAULT 0 CHECK (late_cancel IN (0, 1)),
    -- Keyed hash of the address a booking came from, and when, if it took a place without a
    -- live hold (such bookings have a budget per address).
    address_hash       TEXT,
    direct_ms          INTEGER,
    -- The booking's opaque id in the open ledger: random, tied to nothing about the patient.
    ledger_entry       TEXT,
    ledger_index       INTEGER
);
CREATE INDEX IF NOT EXISTS bookings_by_day ON bookings(created_date, channel);
CREATE INDEX IF NOT EXISTS bookings_by_slot ON bookings(slot_id);
CREATE INDEX IF NOT EXISTS bookings_by_person ON bookings(person_hash, status);
CREATE INDEX IF NOT EXISTS bookings_by_phone ON bookings(phone_hash, status);
CREATE INDEX IF NOT EXISTS bookings_direct_by_address ON bookings(address_hash, direct_ms);

-- Wrong proofs of ownership per booking code (known or not: the two are never told apart), which
-- lock the code for a while. Pruned once they no longer count.
CREATE TABLE IF NOT EXISTS proof_failures (
    code      TEXT NOT NULL,
    failed_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS proof_failures_by_code ON proof_failures(code, failed_ms);

-- The open ledger: one row per entry, in order, never changed. `leaf` is the entry's JSON text
-- exactly as it is hashed into the Merkle tree and served; it holds no personal data.
CREATE TABLE IF NOT EXISTS ledger (
    idx  INTEGER PRIMARY KEY CHECK (idx >= 0),
    leaf TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS ledger_is_append_only_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
CREATE TRIGGER IF NOT EXISTS ledger_is_append_only_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
