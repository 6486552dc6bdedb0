//! Every route, every kind of caller: who gets 401, who gets 403, who gets through. The
//! table must list every path the API documents, so a new route cannot ship without a rule.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::clients::ClientKind;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{client_token, invited_officer, officer, verified_seller};
use crate::helpers::{TestApp, TestBackend};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Anonymous,
    Forged,
    Seller,
    OfficerWithoutTotp,
    Officer,
    Supervisor,
    Admin,
    Platform,
    Issuer,
}

use Caller::*;

const EVERYONE: &[Caller] = &[
    Anonymous,
    Forged,
    Seller,
    OfficerWithoutTotp,
    Officer,
    Supervisor,
    Admin,
    Platform,
    Issuer,
];
const PEOPLE: &[Caller] = &[Seller, OfficerWithoutTotp, Officer, Supervisor, Admin];
const CLIENTS: &[Caller] = &[Platform, Issuer];
const ADMINS: &[Caller] = &[Admin];
const SIGNED_IN: &[Caller] = &[
    Seller,
    OfficerWithoutTotp,
    Officer,
    Supervisor,
    Admin,
    Platform,
    Issuer,
];
const SELLERS: &[Caller] = &[Seller];
const OFFICERS: &[Caller] = &[Officer, Supervisor, Admin];
const PLATFORMS: &[Caller] = &[Platform];
const ISSUERS: &[Caller] = &[Issuer];
/// Those who may manage a code's links; the service then decides whose code it is.
const CODE_MANAGERS: &[Caller] = &[Seller, Issuer];
/// Those who may be named in EPCIS events, and officers.
const EVENT_READERS: &[Caller] = &[Seller, Officer, Supervisor, Admin, Issuer];
/// Parties to a case and officers; the service then decides which case is whose.
const PARTIES: &[Caller] = &[Seller, Officer, Supervisor, Admin, Platform];

/// Who may call a route. `None` marks a public route (no token needed).
struct Rule {
    method: &'static str,
    path: &'static str,
    allowed: Option<&'static [Caller]>,
}

const fn public(method: &'static str, path: &'static str) -> Rule {
    Rule {
        method,
        path,
        allowed: None,
    }
}

const fn only(method: &'static str, path: &'static str, callers: &'static [Caller]) -> Rule {
    Rule {
        method,
        path,
        allowed: Some(callers),
    }
}

const RULES: &[Rule] = &[
    public("GET", "/healthz"),
    public("GET", "/readyz"),
    public("GET", "/metrics"),
    public("POST", "/v1/accounts"),
    public("POST", "/v1/accounts/email-verification"),
    public("POST", "/v1/accounts/email-verification/resend"),
    public("POST", "/v1/auth/login"),
    public("POST", "/v1/auth/refresh"),
    public("POST", "/v1/auth/logout"),
    public("POST", "/v1/auth/password-reset"),
    public("POST", "/v1/auth/password-reset/confirm"),
    public("POST", "/v1/auth/invitation/accept"),
    public("POST", "/v1/oauth/token"),
    only("GET", "/v1/me", PEOPLE),
    only("POST", "/v1/me/password", PEOPLE),
    only("POST", "/v1/me/close", PEOPLE),
    only("GET", "/v1/me/notifications", PEOPLE),
    only("PUT", "/v1/me/notifications", PEOPLE),
    only("POST", "/v1/me/totp", PEOPLE),
    only("POST", "/v1/me/totp/confirm", PEOPLE),
    only("POST", "/v1/admin/officers", ADMINS),
    only("GET", "/v1/clients/me", CLIENTS),
    only("POST", "/v1/admin/clients", ADMINS),
    only("GET", "/v1/admin/clients", ADMINS),
    only("DELETE", "/v1/admin/clients/{id}", ADMINS),
    only("GET", "/v1/admin/outbox", ADMINS),
    only("POST", "/v1/admin/outbox/{id}/retry", ADMINS),
    only("GET", "/v1/platforms/me/webhook", PLATFORMS),
    only("PUT", "/v1/platforms/me/webhook", PLATFORMS),
    only("POST", "/v1/platforms/me/webhook/secret", PLATFORMS),
    only("POST", "/v1/platforms/me/webhook/test", PLATFORMS),
    only("POST", "/v1/identifiers/parse", SIGNED_IN),
    only("GET", "/v1/me/verification", SELLERS),
    only("POST", "/v1/me/identity", SELLERS),
    only("POST", "/v1/me/business", SELLERS),
    only("POST", "/v1/me/binding-codes", SELLERS),
    only("GET", "/v1/me/bindings", SELLERS),
    only("DELETE", "/v1/me/bindings/{id}", SELLERS),
    only("POST", "/v1/seller-bindings", PLATFORMS),
    only("GET", "/v1/sellers/by-shop/{shop_id}", PLATFORMS),
    only("GET", "/v1/reviews", OFFICERS),
    only("GET", "/v1/sellers/{id}", OFFICERS),
    only("POST", "/v1/sellers/{id}/business-review", OFFICERS),
    only("POST", "/v1/sellers/{id}/national-id/reveal", OFFICERS),
    only("POST", "/v1/codes/parse", SIGNED_IN),
    only("PUT", "/v1/admin/issuers/{client_id}", ADMINS),
    only("POST", "/v1/issuers/me/keys", ISSUERS),
    only("GET", "/v1/issuers/me/keys", ISSUERS),
    only("DELETE", "/v1/issuers/me/keys/{key_id}", ISSUERS),
    only("POST", "/v1/issuers/me/code-batches", ISSUERS),
    only("POST", "/v1/issuers/me/licences", ISSUERS),
    only("POST", "/v1/issuers/me/code-status", ISSUERS),
    only("POST", "/v1/codes/status", OFFICERS),
    only("GET", "/v1/codes/possible-clones", OFFICERS),
    only("POST", "/v1/me/distributors", SELLERS),
    only("POST", "/v1/codes/links", CODE_MANAGERS),
    only("GET", "/v1/codes/links", CODE_MANAGERS),
    only("DELETE", "/v1/codes/links/{id}", CODE_MANAGERS),
    // Issuers with `epcis:capture` and sellers (whose business must then be verified).
    only("POST", "/v1/epcis/capture", CODE_MANAGERS),
    // Parties named in events (results filtered to theirs) and officers; platforms are
    // party to none.
    only("GET", "/v1/epcis/events", EVENT_READERS),
    public("GET", "/v1/lots/{gtin}/{lot}/custody"),
    public("GET", "/.well-known/gs1resolver"),
    public("GET", "/v1/audit/checkpoints"),
    only("POST", "/v1/listing-checks", PLATFORMS),
    only("POST", "/v1/listing-checks/batch", PLATFORMS),
    only("GET", "/v1/listing-checks/{id}", PLATFORMS),
    public("GET", "/.well-known/jwks.json"),
    public("GET", "/v1/attestations/{id}"),
    only("POST", "/v1/disputes", PLATFORMS),
    only("GET", "/v1/disputes", OFFICERS),
    public("POST", "/v1/public/disputes"),
    public("POST", "/v1/public/disputes/confirm"),
    only("GET", "/v1/me/disputes", SELLERS),
    only("GET", "/v1/disputes/{id}", PARTIES),
    only("POST", "/v1/disputes/{id}/actions", PARTIES),
    only("GET", "/v1/disputes/{id}/timeline", PARTIES),
    only("POST", "/v1/disputes/{id}/notes", OFFICERS),
    only("PUT", "/v1/disputes/{id}/assignee", OFFICERS),
    only("POST", "/v1/disputes/{id}/evidence", PARTIES),
    only("GET", "/v1/disputes/{id}/evidence/{evidence_id}", PARTIES),
    only(
        "POST",
        "/v1/disputes/{id}/evidence/{evidence_id}/hide",
        OFFICERS,
    ),
    only("GET", "/v1/dispute-reports", OFFICERS),
    only("GET", "/v1/dispute-reports/cases.csv", OFFICERS),
];

async fn tokens(app: &TestApp) -> Vec<(Caller, Option<String>)> {
    let (_, seller) = verified_seller(app).await;
    let without_totp = invited_officer(
        app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let officer_79 = officer(
        app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let supervisor = officer(
        app,
        OfficerRole::Supervisor,
        ProvinceScope::Only(vec!["01".into()]),
    )
    .await;
    let admin = officer(app, OfficerRole::Admin, ProvinceScope::All).await;
    vec![
        (Anonymous, None),
        (
            Forged,
            Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".to_string()),
        ),
        (Seller, seller["access_token"].as_str().map(str::to_string)),
        (OfficerWithoutTotp, Some(without_totp.access_token)),
        (Officer, Some(officer_79.access_token)),
        (Supervisor, Some(supervisor.access_token)),
        (Admin, Some(admin.access_token)),
        (
            Platform,
            Some(client_token(app, ClientKind::Platform).await),
        ),
        (Issuer, Some(client_token(app, ClientKind::Issuer).await)),
    ]
}

async fn every_route_admits_exactly_its_callers(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;

    let doc: Value = app
        .get("/openapi.json")
        .await
        .json()
        .await
        .expect("openapi");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let ruled: BTreeSet<(String, String)> = RULES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(
        documented, ruled,
        "every documented route has exactly one rule here"
    );

    let callers = tokens(&app).await;
    for rule in RULES {
        let path = rule
            .path
            .replace("{id}", "does-not-exist")
            .replace("{shop_id}", "does-not-exist")
            .replace("{client_id}", "does-not-exist")
            .replace("{key_id}", "does-not-exist")
            .replace("{evidence_id}", "does-not-exist");
        for (caller, token) in &callers {
            let mut request = app
                .client
                .request(rule.method.parse().expect("method"), app.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if rule.method != "GET" && rule.method != "DELETE" {
                request = request.json(&json!({}));
            }
            let status = request.send().await.expect("sent").status().as_u16();
            let context = format!("{} {} as {caller:?}: {status}", rule.method, rule.path);
            match rule.allowed {
                None => assert!(status != 403, "{context}"),
                Some(allowed) if allowed.contains(caller) => {
                    assert!(status != 401 && status != 403, "{context}")
                }
                Some(_) if matches!(caller, Anonymous | Forged) => {
                    assert_eq!(status, 401, "{context}")
                }
                Some(_) => assert_eq!(status, 403, "{context}"),
            }
        }
    }
    assert!(EVERYONE.len() == callers.len());
}
both_backends!(every_route_admits_exactly_its_callers);
