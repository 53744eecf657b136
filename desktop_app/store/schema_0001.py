"""The desk's first schema (migration 0001), kept as it was written: later migrations change it, never this text."""

# The first schema, as data: every table and index of 0001.  The text is run as written (its
# indentation included), and SQLite keeps each statement's text in sqlite_master: leave it as it is.
SCHEMA_0001 = """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE members (
        psn_no TEXT PRIMARY KEY,             -- 人员编号
        certno TEXT NOT NULL UNIQUE,         -- 身份证号
        name TEXT NOT NULL,
        name_initials TEXT NOT NULL,         -- 拼音首字母, lower case: 张伟 -> zw
        sex TEXT NOT NULL CHECK (sex IN ('1', '2')),   -- 1 男 2 女 (GB/T 2261.1)
        birth_date TEXT NOT NULL,
        insutype TEXT NOT NULL DEFAULT '310',          -- 310 职工基本医疗保险
        status TEXT NOT NULL CHECK (status IN ('employed', 'retired')),
        status_since TEXT,
        scheme TEXT NOT NULL CHECK (scheme IN ('combined', 'pooling_only')),
        region TEXT NOT NULL,
        civil_servant INTEGER NOT NULL DEFAULT 0,
        programmes TEXT NOT NULL DEFAULT '[]',         -- JSON list: hypertension, diabetes
        designated_facility TEXT,
        account_balance INTEGER NOT NULL DEFAULT 0 CHECK (account_balance >= 0),
        updated_at TEXT NOT NULL
    );
    CREATE INDEX members_name ON members(name);
    CREATE INDEX members_initials ON members(name_initials);

    CREATE TABLE inpatient_episodes (
        psn_no TEXT NOT NULL REFERENCES members(psn_no),
        admitted TEXT NOT NULL,
        discharged TEXT,
        PRIMARY KEY (psn_no, admitted)
    );

    CREATE TABLE family_links (
        owner_psn_no TEXT NOT NULL REFERENCES members(psn_no),    -- whose account pays
        relative_psn_no TEXT NOT NULL REFERENCES members(psn_no), -- for whom
        relation TEXT NOT NULL CHECK (relation IN ('spouse', 'child', 'parent', 'spouse_parent')),
        PRIMARY KEY (owner_psn_no, relative_psn_no)
    );
    CREATE INDEX family_links_relative ON family_links(relative_psn_no);

    CREATE TABLE catalogue (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        category TEXT NOT NULL CHECK (category IN ('A', 'B', 'C')),
        selfpay_ratio TEXT NOT NULL DEFAULT '0',
        price INTEGER NOT NULL CHECK (price >= 0),     -- unit price, fen
        price_cap INTEGER,                             -- 最高支付限价, fen
        unit TEXT NOT NULL DEFAULT '',
        programme TEXT CHECK (programme IN ('hypertension', 'diabetes')),
        item_kind TEXT NOT NULL DEFAULT 'drug'
            CHECK (item_kind IN ('drug', 'service', 'material', 'public_health', 'fitness', 'wellness')),
        account_payable INTEGER NOT NULL DEFAULT 1,
        barcode TEXT
    );
    CREATE INDEX catalogue_name ON catalogue(name);
    CREATE INDEX catalogue_barcode ON catalogue(barcode);

    CREATE TABLE published_figures (
        region TEXT NOT NULL, name TEXT NOT NULL, year TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (region, name, year)
    );

    CREATE TABLE operators (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('cashier', 'supervisor')),
        salt BLOB NOT NULL,
        password_hash BLOB NOT NULL,
        created_at TEXT NOT NULL
    );

    -- The journal: a settlement or a refund (reversal) per row, never changed.
    CREATE TABLE settlements (
        uuid TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('settlement', 'refund')),
        original_uuid TEXT UNIQUE REFERENCES settlements(uuid),   -- at most one refund per original
        psn_no TEXT NOT NULL REFERENCES members(psn_no),
        year INTEGER NOT NULL,
        visit_date TEXT NOT NULL,
        region TEXT NOT NULL,
        facility_id TEXT,
        operator TEXT NOT NULL,
        device TEXT NOT NULL,
        created_at TEXT NOT NULL,
        offline INTEGER NOT NULL DEFAULT 1,
        medfee_sumamt INTEGER NOT NULL,
        hifp_pay INTEGER NOT NULL,
        acct_pay INTEGER NOT NULL,
        acct_mulaid_pay INTEGER NOT NULL,
        family_payer TEXT REFERENCES members(psn_no),
        psn_cash_pay INTEGER NOT NULL,
        deductible INTEGER NOT NULL,
        pool INTEGER NOT NULL,
        programme_hypertension INTEGER NOT NULL,
        programme_diabetes INTEGER NOT NULL,
        input_json TEXT NOT NULL,
        output_json TEXT NOT NULL,
        CHECK ((kind = 'refund') = (original_uuid IS NOT NULL)),
        CHECK (hifp_pay + acct_pay + acct_mulaid_pay + psn_cash_pay = medfee_sumamt)
    );
    CREATE INDEX settlements_member_year ON settlements(psn_no, year);
    CREATE INDEX settlements_created ON settlements(created_at);

    -- Yearly usage, maintained in the settlement's transaction; verify proves it equals the journal.
    CREATE TABLE usage (
        psn_no TEXT NOT NULL REFERENCES members(psn_no),
        year INTEGER NOT NULL,
        counter TEXT NOT NULL CHECK (counter IN ('deductible', 'pool', 'programme_hypertension', 'programme_diabetes')),
        amount INTEGER NOT NULL,
        PRIMARY KEY (psn_no, year, counter)
    );

    -- Personal-account ledger: opening balances from the platform, then every payment and refund.
    CREATE TABLE account_entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        psn_no TEXT NOT NULL REFERENCES members(psn_no),
        settlement_uuid TEXT REFERENCES settlements(uuid),
        delta INTEGER NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('opening', 'credit', 'payment', 'refund')),
        at TEXT NOT NULL
    );
    CREATE INDEX account_entries_member ON account_entries(psn_no);

    CREATE TABLE prescriptions (
        settlement_uuid TEXT PRIMARY KEY REFERENCES settlements(uuid),
        institution TEXT NOT NULL, doctor TEXT NOT NULL, issued TEXT NOT NULL,
        number TEXT NOT NULL, diagnosis TEXT NOT NULL, valid_days INTEGER NOT NULL
    );

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL UNIQUE REFERENCES settlements(uuid),
        kind TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        operator TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
    );
    """
APPEND_ONLY_0001 = ("settlements", "audit_log", "account_entries", "prescriptions")
