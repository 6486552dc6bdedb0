//! People and clients for tests: a verified seller, officers with a second factor, and
//! machine clients with tokens, each made through the real API where it matters.

use data_encoding::{BASE32_NOPAD, BASE64};
use serde_json::{Value, json};
use tracegate::accounts::{Accounts, NewOfficer};
use tracegate::auth::{OfficerRole, totp};
use tracegate::clients::{ClientKind, Clients};
use tracegate::i18n::Language;
use tracegate::policies::ProvinceScope;

use crate::helpers::TestApp;

/// A password the policy accepts.
pub const PASSWORD: &str = "violet-tractor-harbour-91";

pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}.{}@example.vn", uuid::Uuid::new_v4().simple())
}

/// Registers, verifies and signs in a seller; returns the email and the token pair.
pub async fn verified_seller(app: &TestApp) -> (String, Value) {
    let email = unique_email("seller");
    let response = app
        .post(
            "/v1/accounts",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let token = app.link_token(&email).await;
    let response = app
        .post("/v1/accounts/email-verification", json!({ "token": token }))
        .await;
    assert_eq!(response.status(), 204);
    let response = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 200);
    (email, response.json().await.expect("token pair"))
}

/// The current TOTP code for a base32 secret at the app's clock.
pub fn totp_code(app: &TestApp, secret: &str) -> String {
    let secret = BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("base32 secret");
    let at = tracegate::clock::Clock::now(app.clock.as_ref()).timestamp();
    format!("{:06}", totp::code_at_step(&secret, totp::step_of(at)))
}

/// An officer who accepted the invitation, without a second factor yet.
pub struct Officer {
    pub email: String,
    pub access_token: String,
}

pub async fn invited_officer(
    app: &TestApp,
    role: OfficerRole,
    provinces: ProvinceScope,
) -> Officer {
    let email = unique_email(role.as_str());
    let state = app.state.clone();
    let for_task = email.clone();
    state
        .clone()
        .blocking(move || {
            let accounts = Accounts {
                pool: &state.pool,
                config: &state.config,
                clock: state.clock.as_ref(),
                tokens: &state.tokens,
                vault: &state.vault,
                hashing: &state.hashing,
                retention: &state.retention,
            };
            accounts
                .create_officer(&NewOfficer {
                    email: &for_task,
                    role,
                    provinces: &provinces,
                    language: Language::En,
                    created_by: "test",
                })
                .expect("officer created");
            Ok(())
        })
        .await
        .expect("blocking task");
    let token = app.link_token(&email).await;
    let response = app
        .post(
            "/v1/auth/invitation/accept",
            json!({ "token": token, "password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 204);
    let response = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let pair: Value = response.json().await.expect("token pair");
    Officer {
        email,
        access_token: pair["access_token"]
            .as_str()
            .expect("access token")
            .to_string(),
    }
}

/// Enrols and confirms TOTP for a signed-in person; returns the base32 secret.
pub async fn enrol_totp(app: &TestApp, access_token: &str) -> String {
    let response = app.post_as("/v1/me/totp", access_token, json!({})).await;
    assert_eq!(response.status(), 201);
    let enrolment: Value = response.json().await.expect("enrolment");
    let secret = enrolment["secret"].as_str().expect("secret").to_string();
    let response = app
        .post_as(
            "/v1/me/totp/confirm",
            access_token,
            json!({ "code": totp_code(app, &secret) }),
        )
        .await;
    assert_eq!(response.status(), 204);
    // A code works once: the next login needs the next time step.
    app.clock.advance(chrono::TimeDelta::seconds(30));
    secret
}

/// An officer signed in with password and TOTP: their token passes officer routes.
pub async fn officer(app: &TestApp, role: OfficerRole, provinces: ProvinceScope) -> Officer {
    let officer = invited_officer(app, role, provinces).await;
    let secret = enrol_totp(app, &officer.access_token).await;
    let response = app
        .post(
            "/v1/auth/login",
            json!({ "email": officer.email, "password": PASSWORD, "totp_code": totp_code(app, &secret) }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let pair: Value = response.json().await.expect("token pair");
    app.clock.advance(chrono::TimeDelta::seconds(30));
    Officer {
        access_token: pair["access_token"]
            .as_str()
            .expect("access token")
            .to_string(),
        ..officer
    }
}

/// Creates a client directly and returns (id, secret).
pub async fn client(app: &TestApp, kind: ClientKind) -> (String, String) {
    let state = app.state.clone();
    state
        .clone()
        .blocking(move || {
            let clients = Clients {
                pool: &state.pool,
                config: &state.config,
                clock: state.clock.as_ref(),
                tokens: &state.tokens,
                vault: &state.vault,
                hashing: &state.hashing,
            };
            let created = clients
                .create(kind, "Test client", None, "test")
                .expect("client created");
            Ok((created.client.id, created.client_secret))
        })
        .await
        .expect("blocking task")
}

/// Asks the token endpoint for a client token with HTTP Basic.
pub async fn request_client_token(
    app: &TestApp,
    id: &str,
    secret: &str,
    form: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/v1/oauth/token"))
        .header(
            "Authorization",
            format!(
                "Basic {}",
                BASE64.encode(format!("{id}:{secret}").as_bytes())
            ),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .expect("request sent")
}

/// A client of `kind` and an access token for it.
pub async fn client_token(app: &TestApp, kind: ClientKind) -> String {
    let (id, secret) = client(app, kind).await;
    token_for_client(app, &id, &secret).await
}

/// A fresh access token for an existing client.
pub async fn token_for_client(app: &TestApp, id: &str, secret: &str) -> String {
    let response = request_client_token(app, id, secret, "grant_type=client_credentials").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("token");
    body["access_token"]
        .as_str()
        .expect("access token")
        .to_string()
}

/// A synthetic citizen of the built-in population register.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub national_id: &'static str,
    pub full_name: &'static str,
    pub birth_date: &'static str,
}

/// Legal representative of 0799000033 (active, province 79).
pub const AN: Person = Person {
    national_id: "079085900001",
    full_name: "Nguyễn Văn An",
    birth_date: "1985-03-14",
};
/// Legal representative of 0109000015 (active, province 01).
pub const BICH: Person = Person {
    national_id: "001190900002",
    full_name: "Trần Thị Bích",
    birth_date: "1990-07-02",
};
/// Legal representative of 0489000058 (suspended).
pub const CUONG: Person = Person {
    national_id: "048078900003",
    full_name: "Lê Văn Cường",
    birth_date: "1978-11-20",
};
/// Deceased.
pub const HANH: Person = Person {
    national_id: "001160900006",
    full_name: "Võ Thị Hạnh",
    birth_date: "1960-02-14",
};
/// Legal representative of 0109000047 (dissolved).
pub const HUY: Person = Person {
    national_id: "001082900008",
    full_name: "Bùi Quốc Huy",
    birth_date: "1982-12-01",
};
/// Owner of household business 46A8900010 (active, province 46).
pub const LAN: Person = Person {
    national_id: "046191900010",
    full_name: "Dương Thị Lan",
    birth_date: "1991-06-06",
};
/// No business.
pub const KHOA: Person = Person {
    national_id: "038094900011",
    full_name: "Lý Minh Khoa",
    birth_date: "1994-10-10",
};

/// Every citizen ID the tests use: none may ever appear in a log line.
pub const ALL_PEOPLE: &[Person] = &[AN, BICH, CUONG, HANH, HUY, LAN, KHOA];

/// Submits a person's identity for a signed-in seller; returns the answer.
pub async fn submit_identity(app: &TestApp, token: &str, person: Person) -> reqwest::Response {
    app.post_as(
        "/v1/me/identity",
        token,
        json!({ "national_id": person.national_id, "full_name": person.full_name, "birth_date": person.birth_date }),
    )
    .await
}

/// A seller whose identity is verified as `person`; returns (email, access token).
pub async fn verified_person(app: &TestApp, person: Person) -> (String, String) {
    let (email, pair) = verified_seller(app).await;
    let token = pair["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let response = submit_identity(app, &token, person).await;
    assert_eq!(response.status(), 200);
    let view: Value = response.json().await.expect("verification");
    assert_eq!(view["identity"]["status"], "verified", "{view}");
    (email, token)
}

/// Asserts that no log line of the suite so far holds any of the synthetic citizen IDs.
pub fn assert_no_national_id_logged() {
    let logs = crate::helpers::captured_logs();
    for person in ALL_PEOPLE {
        assert!(
            !logs.contains(person.national_id),
            "citizen ID {} appears in the logs",
            &person.national_id[..3]
        );
    }
}

/// A code issuer with a registered signing key.
pub struct Issuer {
    pub token: String,
    pub signing: ed25519_dalek::SigningKey,
    pub key_id: String,
}

/// Creates an issuer client with a profile and one Ed25519 key.
pub async fn issuer(app: &TestApp, kind: &str, prefix: Option<&str>) -> Issuer {
    use tracegate::codes::registry::{IssuerProfile, Registry};
    let (client_id, secret) = client(app, ClientKind::Issuer).await;
    let state = app.state.clone();
    let profile = IssuerProfile {
        name: format!("Issuer {kind}"),
        kind: kind.to_string(),
        code_prefix: prefix.map(str::to_string),
        province: None,
    };
    let id = client_id.clone();
    state
        .clone()
        .blocking(move || {
            let registry = Registry {
                pool: &state.pool,
                clock: state.clock.as_ref(),
                policies: &state.policies,
                facts: &state.facts,
            };
            registry
                .set_issuer("test", &id, &profile)
                .expect("profile set");
            Ok(())
        })
        .await
        .expect("task");
    let token = token_for_client(app, &client_id, &secret).await;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("random");
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let response = app
        .post_as(
            "/v1/issuers/me/keys",
            &token,
            json!({ "public_key": BASE64.encode(signing.verifying_key().as_bytes()) }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let key: Value = response.json().await.expect("key");
    Issuer {
        token,
        signing,
        key_id: key["key_id"].as_str().expect("key id").to_string(),
    }
}

/// Posts a batch signed with the issuer's key.
pub async fn post_batch(
    app: &TestApp,
    issuer: &Issuer,
    content_type: &str,
    body: &str,
) -> reqwest::Response {
    use ed25519_dalek::Signer;
    let signature = BASE64.encode(&issuer.signing.sign(body.as_bytes()).to_bytes());
    app.client
        .post(app.url("/v1/issuers/me/code-batches"))
        .bearer_auth(&issuer.token)
        .header("content-type", content_type)
        .header(
            "tracegate-signature",
            format!("keyid={},sig={signature}", issuer.key_id),
        )
        .body(body.to_string())
        .send()
        .await
        .expect("sent")
}

/// A valid GTIN, in its 14-digit form, from the twelve digits of a GTIN-13 body.
pub fn gtin(twelve: &str) -> String {
    format!(
        "0{twelve}{}",
        tracegate::codes::check_digit(twelve.as_bytes())
    )
}

/// An enterprise seller (AN, of 0799000033) with a shop bound to a new platform: returns
/// (platform client id, platform secret, platform token, seller token).
pub async fn bound_enterprise_seller(
    app: &TestApp,
    shop: &str,
) -> (String, String, String, String) {
    let (_, seller) = verified_person(app, AN).await;
    let view: Value = app
        .post_as(
            "/v1/me/business",
            &seller,
            json!({ "kind": "enterprise", "code": "0799000033" }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["status"], "verified");
    let (id, secret) = client(app, ClientKind::Platform).await;
    let platform = token_for_client(app, &id, &secret).await;
    let code: Value = app
        .post_as("/v1/me/binding-codes", &seller, json!({}))
        .await
        .json()
        .await
        .expect("code");
    let bound = app
        .post_as(
            "/v1/seller-bindings",
            &platform,
            json!({ "binding_code": code["code"], "shop_id": shop }),
        )
        .await;
    assert_eq!(bound.status(), 201);
    (id, secret, platform, seller)
}
