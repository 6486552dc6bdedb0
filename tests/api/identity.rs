//! Sellers proven against the population and business registers; citizen IDs kept safe.

use chrono::TimeDelta;
use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{
    AN, BICH, CUONG, HANH, HUY, KHOA, LAN, Person, assert_no_national_id_logged, officer,
    submit_identity, verified_person, verified_seller,
};
use crate::helpers::{TestApp, TestBackend, problem};

async fn seller_token(app: &TestApp) -> String {
    let (_, pair) = verified_seller(app).await;
    pair["access_token"].as_str().expect("token").to_string()
}

/// A fresh access token (after the clock moved past the old one's lifetime).
async fn sign_in(app: &TestApp, email: &str) -> String {
    let pair: Value = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": crate::fixtures::PASSWORD }),
        )
        .await
        .json()
        .await
        .expect("tokens");
    pair["access_token"].as_str().expect("token").to_string()
}

async fn business(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_as("/v1/me/business", token, body).await
}

async fn individual_is_verified_and_sees_only_a_masked_id(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let token = seller_token(&app).await;
    let before: Value = app
        .get_as("/v1/me/verification", &token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(before["status"], "unverified");
    assert_eq!(before["missing"], json!(["identity"]));

    let response = submit_identity(&app, &token, KHOA).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    assert!(
        !text.contains(KHOA.national_id),
        "the full number never comes back"
    );
    let view: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(view["status"], "verified");
    assert_eq!(view["kind"], "individual");
    assert_eq!(view["level"], 1);
    assert_eq!(view["identity"]["national_id"], "038*******11");
    assert!(view["expires_at"].is_string());

    let again = submit_identity(&app, &token, KHOA).await;
    assert_eq!(again.status(), 409, "identity is set once");
    assert_no_national_id_logged();
}
both_backends!(individual_is_verified_and_sees_only_a_masked_id);

async fn identity_rejections_tell_the_seller_only_not_confirmed(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let supervisor = officer(&app, OfficerRole::Supervisor, ProvinceScope::All).await;
    let cases = [
        (
            Person {
                full_name: "Nguyễn Văn Anh",
                ..AN
            },
            "identity_mismatch",
        ),
        (
            Person {
                birth_date: "1985-03-15",
                ..AN
            },
            "identity_mismatch",
        ),
        (
            Person {
                national_id: "079085999999",
                ..AN
            },
            "not_in_population_register",
        ),
        (HANH, "deceased"),
    ];
    for (person, reason) in cases {
        let token = seller_token(&app).await;
        let view: Value = submit_identity(&app, &token, person)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(view["identity"]["status"], "rejected", "{person:?}");
        assert_eq!(
            view["identity"]["reason"], "identity_not_confirmed",
            "the seller is not told which part did not match: {person:?}"
        );
        assert_eq!(view["status"], "rejected");
        let me: Value = app.get_as("/v1/me", &token).await.json().await.expect("me");
        let seller_id = me["id"].as_str().expect("account id");
        let seen: Value = app
            .get_as(
                &format!("/v1/sellers/{seller_id}"),
                &supervisor.access_token,
            )
            .await
            .json()
            .await
            .expect("officer view");
        assert_eq!(
            seen["identity"]["reason"], reason,
            "officers see why: {person:?}"
        );
    }
    assert_no_national_id_logged();
}
both_backends!(identity_rejections_tell_the_seller_only_not_confirmed);

async fn malformed_identity_fields_are_named(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let token = seller_token(&app).await;
    let cases = [
        (
            json!({ "national_id": "07908590000", "full_name": "A", "birth_date": "1985-03-14" }),
            "national_id",
            "12 digits",
        ),
        (
            json!({ "national_id": "003085900001", "full_name": "A", "birth_date": "1985-03-14" }),
            "national_id",
            "place-of-registration",
        ),
        (
            json!({ "national_id": "079285900001", "full_name": "A", "birth_date": "1985-03-14" }),
            "national_id",
            "born in 2085",
        ),
        (
            json!({ "national_id": "079085900001", "full_name": "A", "birth_date": "14/03/1985" }),
            "birth_date",
            "YYYY-MM-DD",
        ),
        (
            json!({ "national_id": "079085900001", "full_name": " ", "birth_date": "1985-03-14" }),
            "full_name",
            "1 to 100",
        ),
    ];
    for (body, field, says) in cases {
        let response = app.post_as("/v1/me/identity", &token, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
        assert!(
            problem["detail"].as_str().unwrap_or("").contains(says),
            "{body}: {problem}"
        );
    }
}
both_backends!(malformed_identity_fields_are_named);

async fn one_citizen_backs_one_seller_account_per_kind(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    verified_person(&app, KHOA).await;
    let second = seller_token(&app).await;
    let view: Value = submit_identity(&app, &second, KHOA)
        .await
        .json()
        .await
        .expect("json");
    // The seller learns only that it is not confirmed; officers see why.
    assert_eq!(view["identity"]["reason"], "identity_not_confirmed");
    assert_eq!(
        app.count_sql(
            "SELECT count(*) AS n FROM sellers WHERE identity_reason = 'national_id_in_use'"
        )
        .await,
        1
    );
}
both_backends!(one_citizen_backs_one_seller_account_per_kind);

async fn enterprise_and_household_sellers_are_checked_against_the_business_register(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;

    // Legal representative of an active enterprise.
    let (_, an) = verified_person(&app, AN).await;
    let view: Value = business(
        &app,
        &an,
        json!({ "kind": "enterprise", "code": "0799000033" }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(view["status"], "verified", "{view}");
    assert_eq!(view["kind"], "enterprise");
    assert_eq!(view["level"], 3);
    assert_eq!(view["business"]["name"], "Công ty TNHH Mỹ phẩm Sen Việt");
    assert_eq!(view["business"]["province"], "79");

    // Owner of a household business.
    let (_, lan) = verified_person(&app, LAN).await;
    let view: Value = business(
        &app,
        &lan,
        json!({ "kind": "household_business", "code": "46a8900010" }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        (view["status"].as_str(), view["level"].as_i64()),
        (Some("verified"), Some(2)),
        "{view}"
    );

    // Dissolved and suspended businesses.
    let (_, huy) = verified_person(&app, HUY).await;
    let view: Value = business(
        &app,
        &huy,
        json!({ "kind": "enterprise", "code": "0109000047" }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(view["business"]["reason"], "business_dissolved");
    let (_, cuong) = verified_person(&app, CUONG).await;
    let view: Value = business(
        &app,
        &cuong,
        json!({ "kind": "enterprise", "code": "0489000058" }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(view["business"]["reason"], "business_suspended");

    // Not the owner of someone else's household business; unknown codes.
    let (_, khoa) = verified_person(&app, KHOA).await;
    let view: Value = business(
        &app,
        &khoa,
        json!({ "kind": "household_business", "code": "46A8900010" }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(view["business"]["reason"], "not_the_owner");
    let khoa2_view: Value = business(
        &app,
        &khoa,
        json!({ "kind": "enterprise", "code": "0100109106" }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(khoa2_view["business"]["reason"], "not_in_business_register");

    // Malformed codes are named.
    let bad = business(
        &app,
        &khoa,
        json!({ "kind": "enterprise", "code": "0100109107" }),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let bad = problem(bad).await;
    assert_eq!(bad["errors"][0]["field"], "code");
    assert!(
        bad["detail"].as_str().unwrap_or("").contains("check digit"),
        "{bad}"
    );
    assert_no_national_id_logged();
}
both_backends!(enterprise_and_household_sellers_are_checked_against_the_business_register);

async fn business_needs_a_verified_identity_first(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let token = seller_token(&app).await;
    let response = business(
        &app,
        &token,
        json!({ "kind": "enterprise", "code": "0799000033" }),
    )
    .await;
    assert_eq!(response.status(), 409);
}
both_backends!(business_needs_a_verified_identity_first);

async fn authorised_employee_waits_for_an_officer_in_the_province(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, khoa) = verified_person(&app, KHOA).await;
    let missing_note = business(
        &app,
        &khoa,
        json!({ "kind": "enterprise", "code": "0109000015" }),
    )
    .await;
    assert_eq!(missing_note.status(), 422);
    assert_eq!(
        problem(missing_note).await["errors"][0]["field"],
        "authorisation_note"
    );

    let view: Value = business(
        &app,
        &khoa,
        json!({ "kind": "enterprise", "code": "0109000015", "authorisation_note": "Giấy ủy quyền số 12/2026/UQ ngày 01/11/2026, ký bởi Trần Thị Bích" }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(view["status"], "pending_review");
    assert_eq!(view["missing"], json!(["authorisation_review"]));

    let me: Value = app.get_as("/v1/me", &khoa).await.json().await.expect("me");
    let seller_id = me["id"].as_str().expect("id").to_string();

    let saigon = officer(
        &app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let hanoi = officer(
        &app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["01".into()]),
    )
    .await;
    let queue: Value = app
        .get_as("/v1/reviews", &saigon.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        queue["reviews"],
        json!([]),
        "another province's case is not listed"
    );
    let queue: Value = app
        .get_as("/v1/reviews", &hanoi.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(queue["reviews"][0]["seller_id"], seller_id.as_str());

    let path = format!("/v1/sellers/{seller_id}/business-review");
    let decision =
        json!({ "decision": "approve", "reason": "Giấy ủy quyền hợp lệ, đã đối chiếu chữ ký." });
    assert_eq!(
        app.post_as(&path, &saigon.access_token, decision.clone())
            .await
            .status(),
        404
    );
    let no_reason = app
        .post_as(
            &path,
            &hanoi.access_token,
            json!({ "decision": "approve", "reason": "" }),
        )
        .await;
    assert_eq!(no_reason.status(), 422);
    let approved = app
        .post_as(&path, &hanoi.access_token, decision.clone())
        .await;
    assert_eq!(approved.status(), 200);
    let view: Value = approved.json().await.expect("json");
    assert_eq!(view["status"], "verified");
    assert_eq!(
        app.post_as(&path, &hanoi.access_token, decision)
            .await
            .status(),
        409,
        "decided once"
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "seller.authorisation_approved")
    );
}
both_backends!(authorised_employee_waits_for_an_officer_in_the_province);

async fn verification_expires_after_the_policy_period(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = verified_person(&app, KHOA).await;
    app.clock.advance(TimeDelta::days(336));
    // The monitor asks the seller to verify again 30 days before the end.
    let mut reminded = false;
    for _ in 0..60 {
        if app
            .mails_to(&email)
            .await
            .iter()
            .any(|(subject, _)| subject.contains("sắp hết hạn"))
        {
            reminded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(reminded, "a reminder is mailed 30 days before expiry");
    let token = sign_in(&app, &email).await;
    let view: Value = app
        .get_as("/v1/me/verification", &token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["status"], "verified");
    app.clock.advance(TimeDelta::days(30));
    let token = sign_in(&app, &email).await;
    let view: Value = app
        .get_as("/v1/me/verification", &token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["status"], "expired");
    // Verifying again, with the same citizen ID, restores the standing for another period.
    let other = submit_identity(&app, &token, AN).await;
    assert_eq!(other.status(), 409, "not with another person's ID");
    let again: Value = submit_identity(&app, &token, KHOA)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["status"], "verified");
    assert_eq!(view["level"], 0);
    assert!(
        view["missing"]
            .as_array()
            .is_some_and(|m| m.iter().any(|x| x == "reverification"))
    );
}
both_backends!(verification_expires_after_the_policy_period);

async fn officers_reveal_a_full_id_only_with_a_recorded_reason(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, token) = verified_person(&app, BICH).await;
    let me: Value = app.get_as("/v1/me", &token).await.json().await.expect("me");
    let seller_id = me["id"].as_str().expect("id");
    let hanoi = officer(
        &app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["01".into()]),
    )
    .await;

    let view = app
        .get_as(&format!("/v1/sellers/{seller_id}"), &hanoi.access_token)
        .await;
    assert_eq!(view.status(), 200);
    assert!(!view.text().await.expect("body").contains(BICH.national_id));

    let path = format!("/v1/sellers/{seller_id}/national-id/reveal");
    let short = app
        .post_as(&path, &hanoi.access_token, json!({ "reason": "check" }))
        .await;
    assert_eq!(short.status(), 422);
    let revealed = app
        .post_as(
            &path,
            &hanoi.access_token,
            json!({ "reason": "Đối chiếu hồ sơ khiếu nại DSP-2026-000123" }),
        )
        .await;
    assert_eq!(revealed.status(), 200);
    assert_eq!(revealed.headers()["cache-control"], "no-store");
    let body: Value = revealed.json().await.expect("json");
    assert_eq!(body["national_id"], BICH.national_id);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "seller.national_id_revealed")
    );

    let other = officer(
        &app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let denied = app
        .post_as(
            &path,
            &other.access_token,
            json!({ "reason": "Đối chiếu hồ sơ khiếu nại DSP-2026-000123" }),
        )
        .await;
    assert_eq!(
        denied.status(),
        404,
        "another province's officer learns nothing"
    );
    assert_no_national_id_logged();
}
both_backends!(officers_reveal_a_full_id_only_with_a_recorded_reason);

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// Every row of every table as one line of text (binary columns as hex), to search for
/// data that must not be stored in clear.
async fn every_stored_row(app: &TestApp) -> String {
    use diesel::RunQueryDsl;
    use tracegate::db::DbConnection;
    app.state
        .db(|conn| {
            let tables: Vec<Line> = match conn {
                DbConnection::Sqlite(_) => diesel::sql_query(
                    "SELECT name AS line FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )
                .load(conn)?,
                DbConnection::Postgresql(_) => diesel::sql_query(
                    "SELECT table_name::text AS line FROM information_schema.tables WHERE table_schema = 'public'",
                )
                .load(conn)?,
            };
            let mut all = String::new();
            for table in tables {
                let query = match conn {
                    DbConnection::Sqlite(_) => {
                        let columns: Vec<Line> = diesel::sql_query(format!(
                            "SELECT name AS line FROM pragma_table_info('{}')",
                            table.line
                        ))
                        .load(conn)?;
                        let quoted: Vec<String> = columns.iter().map(|c| format!("quote(\"{}\")", c.line)).collect();
                        format!("SELECT {} AS line FROM \"{}\"", quoted.join(" || '|' || "), table.line)
                    }
                    DbConnection::Postgresql(_) => format!("SELECT row_to_json(t)::text AS line FROM \"{}\" t", table.line),
                };
                for row in diesel::sql_query(query).load::<Line>(conn)? {
                    all.push_str(&row.line);
                    all.push('\n');
                }
            }
            Ok(all.to_lowercase())
        })
        .await
        .expect("read every table")
}

async fn the_database_holds_no_plaintext_citizen_id(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    for person in [AN, BICH, LAN] {
        verified_person(&app, person).await;
    }
    let (_, huy) = verified_person(&app, HUY).await;
    business(
        &app,
        &huy,
        json!({ "kind": "enterprise", "code": "0109000047" }),
    )
    .await;
    let stored = every_stored_row(&app).await;
    assert!(
        stored.contains("079*******01"),
        "the masked form is stored for display"
    );
    assert!(stored.contains("0109000047"), "the search reads the tables");
    for person in [AN, BICH, LAN, HUY] {
        let hex: String = person
            .national_id
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            !stored.contains(person.national_id),
            "{} stored in clear",
            &person.national_id[..3]
        );
        assert!(
            !stored.contains(&hex),
            "{} stored in clear as bytes",
            &person.national_id[..3]
        );
    }
}
both_backends!(the_database_holds_no_plaintext_citizen_id);

async fn identifiers_are_pre_checked_for_any_signed_in_caller(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let token = seller_token(&app).await;
    let ok: Value = app
        .post_as(
            "/v1/identifiers/parse",
            &token,
            json!({ "kind": "enterprise_code", "value": "0100109106001" }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ok["normalized"], "0100109106-001");
    let id: Value = app
        .post_as(
            "/v1/identifiers/parse",
            &token,
            json!({ "kind": "national_id", "value": "046191900010" }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(id["masked"], "046*******10");
    assert_eq!(id["birth_year"], 1991);
    assert_eq!(id["sex"], "female");
    let bad = app
        .post_as(
            "/v1/identifiers/parse",
            &token,
            json!({ "kind": "national_id", "value": "046191" }),
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert_eq!(problem(bad).await["errors"][0]["field"], "value");
    assert_eq!(
        app.post(
            "/v1/identifiers/parse",
            json!({ "kind": "national_id", "value": "046191900010" })
        )
        .await
        .status(),
        401
    );
}
both_backends!(identifiers_are_pre_checked_for_any_signed_in_caller);

async fn identity_checks_that_do_not_match_are_throttled(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let token = seller_token(&app).await;
    let limit = app
        .state
        .policies
        .verification
        .max_identity_failures_per_account;
    for i in 0..limit {
        let response = submit_identity(
            &app,
            &token,
            Person {
                birth_date: if i % 2 == 0 {
                    "1985-03-15"
                } else {
                    "1985-03-16"
                },
                ..AN
            },
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    let locked = submit_identity(&app, &token, AN).await;
    assert_eq!(locked.status(), 429, "even the right details wait now");
    assert!(locked.headers().contains_key("retry-after"));
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(r#"tracegate_attempts_refused_total{reason="identity_locked"} 1"#),
        "{metrics}"
    );
    // Another account is not held up by this one's failures.
    let other = seller_token(&app).await;
    assert_eq!(submit_identity(&app, &other, KHOA).await.status(), 200);
    app.clock.advance(TimeDelta::seconds(
        i64::from(app.state.policies.verification.identity_lock_secs) + 1,
    ));
    let view: Value = submit_identity(&app, &token, AN)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["identity"]["status"], "verified");
}
both_backends!(identity_checks_that_do_not_match_are_throttled);

async fn one_person_backs_one_seller_whatever_its_kind(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, first) = verified_person(&app, AN).await;
    let me: Value = app.get_as("/v1/me", &first).await.json().await.expect("me");
    // The first account went on to prove a household business.
    app.execute_sql(&format!(
        "UPDATE sellers SET kind = 'household_business' WHERE account_id = '{}'",
        me["id"].as_str().expect("id")
    ))
    .await;
    let second = seller_token(&app).await;
    let view: Value = submit_identity(&app, &second, AN)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["identity"]["status"], "rejected", "{view}");
    assert_eq!(view["identity"]["reason"], "identity_not_confirmed");
    assert_eq!(
        app.count_sql(
            "SELECT count(*) AS n FROM sellers WHERE identity_reason = 'national_id_in_use'"
        )
        .await,
        1
    );
}
both_backends!(one_person_backs_one_seller_whatever_its_kind);

async fn accounts_sending_one_id_at_once_are_verified_once(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let mut tokens = Vec::new();
    for _ in 0..8 {
        tokens.push(seller_token(&app).await);
    }
    let claims = tokens.iter().map(|token| async {
        let view: Value = submit_identity(&app, token, AN)
            .await
            .json()
            .await
            .expect("json");
        view["identity"]["status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    });
    let statuses = futures_util::future::join_all(claims).await;
    let verified = statuses.iter().filter(|s| *s == "verified").count();
    assert_eq!(verified, 1, "{statuses:?}");
    let holders = app
        .count_sql("SELECT COUNT(*) AS n FROM identity_holders")
        .await;
    assert_eq!(holders, 1);
}
both_backends!(accounts_sending_one_id_at_once_are_verified_once);
