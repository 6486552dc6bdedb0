//! Tables as diesel sees them; kept by hand in step with `migrations/` (both backends
//! produce the same tables and columns, which a test checks).

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        occurred_at -> Timestamp,
        actor -> Text,
        action -> Text,
        subject -> Text,
        details -> Text,
        request_id -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    audit_checkpoints (seq) {
        seq -> BigInt,
        head_hash -> Text,
        signed_at -> Timestamp,
        key_id -> Text,
        signature -> Text,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        kind -> Text,
        email -> Text,
        email_verified_at -> Nullable<Timestamp>,
        password_hash -> Nullable<Text>,
        role -> Nullable<Text>,
        provinces -> Text,
        language -> Text,
        totp_secret -> Nullable<Binary>,
        totp_key_id -> Nullable<Text>,
        totp_confirmed_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        display_name -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        pseudonymised_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_tokens (token_hash) {
        token_hash -> Text,
        account_id -> Text,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        account_id -> Text,
        amr -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_attempts (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        locked_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        secret_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        created_by -> Text,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        destination -> Text,
        payload -> Text,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        dead_at -> Nullable<Timestamp>,
        lease_holder -> Nullable<Text>,
    }
}

diesel::table! {
    mail_preferences (account_id) {
        account_id -> Text,
        silenced -> Text,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(account_tokens -> accounts (account_id));
diesel::joinable!(refresh_tokens -> accounts (account_id));
diesel::joinable!(mail_preferences -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    account_tokens,
    refresh_tokens,
    mail_preferences
);

diesel::table! {
    sellers (account_id) {
        account_id -> Text,
        kind -> Text,
        status -> Text,
        national_id_sealed -> Nullable<Binary>,
        national_id_key -> Nullable<Text>,
        national_id_index -> Nullable<Text>,
        national_id_masked -> Nullable<Text>,
        full_name -> Nullable<Text>,
        birth_date -> Nullable<Text>,
        residence_province -> Nullable<Text>,
        identity_status -> Text,
        identity_reason -> Nullable<Text>,
        identity_verified_at -> Nullable<Timestamp>,
        business_kind -> Nullable<Text>,
        business_code -> Nullable<Text>,
        business_name -> Nullable<Text>,
        business_province -> Nullable<Text>,
        business_address -> Nullable<Text>,
        business_lines -> Nullable<Text>,
        business_status -> Text,
        business_reason -> Nullable<Text>,
        business_verified_at -> Nullable<Timestamp>,
        business_checked_at -> Nullable<Timestamp>,
        authorisation_note -> Nullable<Text>,
        verification_expires_at -> Nullable<Timestamp>,
        reminder_sent_at -> Nullable<Timestamp>,
        suspended_at -> Nullable<Timestamp>,
        suspended_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        search_name -> Nullable<Text>,
    }
}

diesel::table! {
    binding_codes (code_hash) {
        code_hash -> Text,
        seller_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    seller_bindings (id) {
        id -> Text,
        seller_id -> Text,
        platform_id -> Text,
        shop_id -> Text,
        shop_name -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        search_shop_name -> Nullable<Text>,
    }
}

diesel::table! {
    platform_webhooks (platform_id) {
        platform_id -> Text,
        url -> Text,
        secret_sealed -> Binary,
        secret_key -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    issuers (client_id) {
        client_id -> Text,
        name -> Text,
        kind -> Text,
        code_prefix -> Nullable<Text>,
        province -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    issuer_keys (key_id) {
        key_id -> Text,
        issuer_id -> Text,
        public_key -> Binary,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    code_batches (id) {
        id -> Text,
        issuer_id -> Text,
        key_id -> Text,
        body_sha256 -> Text,
        rows_count -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    codes (code_key) {
        code_key -> Text,
        level -> Text,
        gtin -> Nullable<Text>,
        issuer_id -> Text,
        owner_code -> Text,
        product_name -> Text,
        category -> Text,
        origin -> Nullable<Text>,
        production_date -> Nullable<Text>,
        expiry_date -> Nullable<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        batch_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    company_prefix_licences (prefix) {
        prefix -> Text,
        enterprise_code -> Text,
        issuer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    distributor_authorisations (id) {
        id -> Text,
        code_key -> Text,
        owner_code -> Text,
        distributor_code -> Text,
        valid_until -> Timestamp,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    listing_checks (id) {
        id -> Text,
        platform_id -> Text,
        listing_id -> Text,
        content_hash -> Text,
        shop_id -> Text,
        seller_id -> Nullable<Text>,
        category -> Text,
        decision -> Text,
        record -> Text,
        policy_version -> Text,
        attestation -> Nullable<Text>,
        created_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
        replay_key -> Nullable<Binary>,
        facts_seq -> BigInt,
        batch_id -> Nullable<Text>,
        expires_at -> Timestamp,
        withdrawn_reason -> Nullable<Text>,
    }
}

diesel::table! {
    listing_check_batches (id) {
        id -> Text,
        platform_id -> Text,
        attestation -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fact_changes (seq) {
        seq -> BigInt,
        kind -> Text,
        scope -> Text,
        fact_key -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    listing_check_codes (code_key, check_id) {
        check_id -> Text,
        code_key -> Text,
        /// The month it is filed under on PostgreSQL (empty on SQLite).
        created_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(listing_check_codes -> listing_checks (check_id));
diesel::allow_tables_to_appear_in_same_query!(listing_checks, listing_check_codes);

diesel::table! {
    disputes (id) {
        id -> Text,
        reference -> Text,
        status -> Text,
        kind -> Text,
        claim -> Text,
        description -> Text,
        platform_id -> Text,
        listing_id -> Text,
        shop_id -> Text,
        listing_check_id -> Nullable<Text>,
        seller_id -> Text,
        province -> Text,
        buyer_key -> Text,
        buyer_reference -> Nullable<Text>,
        buyer_email -> Text,
        buyer_language -> Text,
        buyer_token_hash -> Nullable<Text>,
        assignee_id -> Nullable<Text>,
        outcome -> Nullable<Text>,
        info_requested_from -> Nullable<Text>,
        paused_at -> Nullable<Timestamp>,
        seller_due_at -> Nullable<Timestamp>,
        buyer_due_at -> Nullable<Timestamp>,
        resolution_due_at -> Nullable<Timestamp>,
        appeal_due_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    dispute_counters (year) {
        year -> Integer,
        last_number -> BigInt,
    }
}

diesel::table! {
    dispute_events (id) {
        id -> Text,
        dispute_id -> Text,
        occurred_at -> Timestamp,
        actor -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        internal -> Bool,
        details -> Text,
    }
}

diesel::table! {
    dispute_evidence (id) {
        id -> Text,
        dispute_id -> Text,
        uploaded_by -> Text,
        file_name -> Text,
        media_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        storage_path -> Text,
        hidden_at -> Nullable<Timestamp>,
        hidden_by -> Nullable<Text>,
        hidden_reason -> Nullable<Text>,
        created_at -> Timestamp,
        expired_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(disputes, dispute_evidence);

diesel::table! {
    dispute_sanctions (id) {
        id -> Text,
        dispute_id -> Text,
        seller_id -> Text,
        kind -> Text,
        target -> Nullable<Text>,
        days -> Nullable<Integer>,
        ends_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        lifted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dispute_decisions (id) {
        id -> Text,
        dispute_id -> Text,
        stage -> Text,
        outcome -> Text,
        statement -> Text,
        decided_by -> Text,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    code_scans (code_key, place) {
        code_key -> Text,
        place -> Text,
        first_at -> Timestamp,
        last_at -> Timestamp,
        scans -> BigInt,
    }
}

diesel::table! {
    code_scan_flags (code_key) {
        code_key -> Text,
        flagged_at -> Timestamp,
        places -> BigInt,
        scans -> BigInt,
    }
}

diesel::table! {
    code_links (id) {
        id -> Text,
        code_key -> Text,
        link_type -> Text,
        href -> Text,
        title -> Text,
        language -> Nullable<Text>,
        media_type -> Nullable<Text>,
        context -> Nullable<Text>,
        active_from -> Nullable<Timestamp>,
        active_until -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (scope, idempotency_key) {
        scope -> Text,
        idempotency_key -> Text,
        request_sha256 -> Text,
        status -> Nullable<Integer>,
        content_type -> Nullable<Text>,
        location -> Nullable<Text>,
        body_sealed -> Nullable<Binary>,
        body_key -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    epcis_events (event_hash) {
        event_hash -> Text,
        event_id -> Text,
        event_type -> Text,
        event_time -> Timestamp,
        record_time -> Timestamp,
        action -> Nullable<Text>,
        biz_step -> Nullable<Text>,
        disposition -> Nullable<Text>,
        read_point -> Nullable<Text>,
        biz_location -> Nullable<Text>,
        captured_by -> Text,
        body -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    epcis_event_items (event_seq, role, item) {
        event_seq -> BigInt,
        role -> Text,
        item -> Text,
        lot_key -> Nullable<Text>,
        quantity -> Nullable<Double>,
        uom -> Nullable<Text>,
    }
}

diesel::table! {
    epcis_event_parties (event_seq, role, party_type, party) {
        event_seq -> BigInt,
        role -> Text,
        party_type -> Text,
        party -> Text,
        business_code -> Nullable<Text>,
    }
}

diesel::table! {
    epcis_receipts (business_code, lot_key, event_hash) {
        business_code -> Text,
        lot_key -> Text,
        event_hash -> Text,
        receiving -> Bool,
        units -> Nullable<Double>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(epcis_events, epcis_event_items, epcis_event_parties);

diesel::table! {
    identity_holders (national_id_index, place) {
        national_id_index -> Text,
        place -> Integer,
        account_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    worker_leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    consumer_complaints (id) {
        id -> Text,
        reference -> Text,
        code -> Nullable<Text>,
        platform_id -> Nullable<Text>,
        listing_link -> Nullable<Text>,
        shop_name -> Nullable<Text>,
        shop_id -> Nullable<Text>,
        seller_id -> Nullable<Text>,
        province -> Nullable<Text>,
        kind -> Text,
        claim -> Text,
        description -> Text,
        email -> Text,
        language -> Text,
        created_at -> Timestamp,
        email_erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    authorisation_letters (id) {
        id -> Text,
        seller_id -> Text,
        file_name -> Text,
        media_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        stored_path -> Text,
        created_at -> Timestamp,
    }
}
