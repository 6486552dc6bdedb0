//! The demo data set: a SYNTHETIC world to try tracegate in, built through the same
//! services real users go through (registration, verification against the synthetic
//! registers, signed code batches, shop binding). `tracegate demo` seeds it once, keeps
//! the credentials it made in a private file beside the database, and serves.

use std::path::{Path, PathBuf};

use chrono::Datelike;
use data_encoding::BASE64;
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::accounts::{Accounts, NewOfficer};
use crate::auth::hashing::HashingPool;
use crate::auth::{OfficerRole, TokenService};
use crate::clients::{ClientKind, Clients};
use crate::clock::Clock;
use crate::codes::registry::{BatchFormat, CodeStatus, IssuerProfile, Registry, StatusActor};
use crate::config::Config;
use crate::db::DbPool;
use crate::disputes::evidence::EvidenceStore;
use crate::disputes::{BuyerInput, CaseInput, Disputes};
use crate::i18n::Language;
use crate::identity::{Bindings, BusinessClaim, BusinessKind, IdentityClaim, Registers, Sellers};
use crate::keys::KeyRing;
use crate::notify::outbox::{self, OutboxState};
use crate::policies::{Policies, ProvinceScope};
use crate::vault::Vault;

/// Password of every demo person (demo data only).
pub const DEMO_PASSWORD: &str = "demo-tracegate-2026";

/// What `tracegate demo` made and prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoCredentials {
    pub platform_client_id: String,
    pub platform_client_secret: String,
    pub issuer_client_id: String,
    pub issuer_client_secret: String,
    /// Base64 of the Ed25519 private key seed that signs the demo issuer's batches.
    pub issuer_signing_seed: String,
    pub issuer_key_id: String,
    pub seller_email: String,
    pub household_email: String,
    pub suspended_email: String,
    pub admin_email: String,
    pub password: String,
    pub shop_id: String,
    pub allowed_code: String,
    pub recalled_code: String,
    pub issuer_code: String,
    /// Officer of Ho Chi Minh City's Department of Industry and Trade.
    #[serde(default)]
    pub officer_email: String,
    /// A dispute waiting for the seller's answer.
    #[serde(default)]
    pub dispute_reference: String,
    /// A lot of tea with a chain of custody (maker → distributor → shop) that An's shop is
    /// not in.
    #[serde(default)]
    pub chain_code: String,
}

/// Where the demo keeps its credentials.
pub fn credentials_file(config: &Config) -> PathBuf {
    Path::new(&config.keys.file)
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("demo-credentials.toml")
}

pub struct Demo<'a> {
    pub pool: &'a DbPool,
    pub config: &'a Config,
    pub clock: &'a dyn Clock,
    pub keys: &'a KeyRing,
    pub policies: &'a Policies,
    pub registers: &'a Registers,
}

fn gtin(twelve: &str) -> String {
    format!("0{twelve}{}", crate::codes::check_digit(twelve.as_bytes()))
}

impl Demo<'_> {
    fn fail(what: &str, error: impl std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!("demo data: {what}: {error}")
    }

    /// The token of the newest mail to `to` still in the outbox.
    fn link_token(&self, to: &str) -> anyhow::Result<String> {
        let mut conn = self.pool.get()?;
        let rows = outbox::list(&mut conn, OutboxState::Pending, None, 500)?;
        let row = rows
            .iter()
            .find(|r| r.destination == to)
            .ok_or_else(|| anyhow::anyhow!("demo data: no mail to {to}"))?;
        let text = row.payload.split("token=").nth(1).unwrap_or("");
        Ok(text
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect())
    }

    fn seller(&self, accounts: &Accounts<'_>, email: &str) -> anyhow::Result<String> {
        accounts
            .register(email, DEMO_PASSWORD, Language::Vi)
            .map_err(|e| Self::fail("register", e))?;
        accounts
            .verify_email(&self.link_token(email)?)
            .map_err(|e| Self::fail("verify email", e))?;
        let mut conn = self.pool.get()?;
        use diesel::prelude::*;
        Ok(crate::db::schema::accounts::table
            .filter(crate::db::schema::accounts::email.eq(email))
            .select(crate::db::schema::accounts::id)
            .first(&mut conn)?)
    }

    /// Seeds the data set; returns the credentials to print.
    pub fn seed(&self) -> anyhow::Result<DemoCredentials> {
        let tokens = TokenService::new(self.keys, &self.config.server.public_url);
        let vault = Vault::new(self.keys);
        // Seeding hashes the demo passwords one after another, before the service runs.
        let hashing = HashingPool::start(1, std::time::Duration::from_secs(60))?;
        // Seeding runs before the service starts: the service loads what it publishes.
        let facts = crate::listings::fact_bus();
        let retention =
            crate::retention::RetentionPolicy::load(self.config.policies.dir.as_deref())?;
        let accounts = Accounts {
            pool: self.pool,
            config: self.config,
            clock: self.clock,
            tokens: &tokens,
            vault: &vault,
            hashing: &hashing,
            retention: &retention,
        };
        let sellers = Sellers {
            pool: self.pool,
            clock: self.clock,
            vault: &vault,
            policies: self.policies,
            registers: self.registers,
            facts: &facts,
        };
        let clients = Clients {
            pool: self.pool,
            config: self.config,
            clock: self.clock,
            tokens: &tokens,
            vault: &vault,
            hashing: &hashing,
        };
        let registry = Registry {
            pool: self.pool,
            clock: self.clock,
            policies: self.policies,
            facts: &facts,
        };
        let bindings = Bindings {
            pool: self.pool,
            clock: self.clock,
            policies: self.policies,
            facts: &facts,
        };

        // People (synthetic citizens of src/identity/synthetic/).
        let seller_email = "an.nguyen@demo.tracegate.vn";
        let an = self.seller(&accounts, seller_email)?;
        let claim = |id, name, born| IdentityClaim {
            national_id: id,
            full_name: name,
            birth_date: born,
            source: "demo",
        };
        sellers
            .submit_identity(&an, &claim("079085900001", "Nguyễn Văn An", "1985-03-14"))
            .map_err(|e| Self::fail("identity", e))?;
        sellers
            .submit_business(
                &an,
                &BusinessClaim {
                    kind: BusinessKind::Enterprise,
                    code: "0799000033",
                    authorisation_note: None,
                },
            )
            .map_err(|e| Self::fail("business", e))?;
        let household_email = "lan.duong@demo.tracegate.vn";
        let lan = self.seller(&accounts, household_email)?;
        sellers
            .submit_identity(&lan, &claim("046191900010", "Dương Thị Lan", "1991-06-06"))
            .map_err(|e| Self::fail("identity", e))?;
        sellers
            .submit_business(
                &lan,
                &BusinessClaim {
                    kind: BusinessKind::HouseholdBusiness,
                    code: "46A8900010",
                    authorisation_note: None,
                },
            )
            .map_err(|e| Self::fail("business", e))?;
        let suspended_email = "bich.tran@demo.tracegate.vn";
        let bich = self.seller(&accounts, suspended_email)?;
        sellers
            .submit_identity(&bich, &claim("001190900002", "Trần Thị Bích", "1990-07-02"))
            .map_err(|e| Self::fail("identity", e))?;
        sellers
            .submit_business(
                &bich,
                &BusinessClaim {
                    kind: BusinessKind::Enterprise,
                    code: "0109000015",
                    authorisation_note: None,
                },
            )
            .map_err(|e| Self::fail("business", e))?;

        let admin_email = "admin@demo.tracegate.vn";
        accounts
            .create_officer(&NewOfficer {
                email: admin_email,
                role: OfficerRole::Admin,
                provinces: &ProvinceScope::All,
                language: Language::Vi,
                created_by: "demo",
            })
            .map_err(|e| Self::fail("admin", e))?;
        accounts
            .accept_invitation(&self.link_token(admin_email)?, DEMO_PASSWORD)
            .map_err(|e| Self::fail("admin invitation", e))?;
        let officer_email = "can.bo.hcm@demo.tracegate.vn";
        accounts
            .create_officer(&NewOfficer {
                email: officer_email,
                role: OfficerRole::Supervisor,
                provinces: &ProvinceScope::Only(vec!["79".into()]),
                language: Language::Vi,
                created_by: "demo",
            })
            .map_err(|e| Self::fail("officer", e))?;
        accounts
            .accept_invitation(&self.link_token(officer_email)?, DEMO_PASSWORD)
            .map_err(|e| Self::fail("officer invitation", e))?;

        // Machine clients.
        let platform = clients
            .create(
                ClientKind::Platform,
                "Sàn Demo (synthetic platform)",
                None,
                "demo",
            )
            .map_err(|e| Self::fail("platform", e))?;
        let issuer = clients
            .create(
                ClientKind::Issuer,
                "Hệ thống truy xuất Demo (synthetic issuer)",
                None,
                "demo",
            )
            .map_err(|e| Self::fail("issuer", e))?;
        registry
            .set_issuer(
                "demo",
                &issuer.client.id,
                &IssuerProfile {
                    name: "Hệ thống truy xuất nguồn gốc Demo".into(),
                    kind: "national".into(),
                    code_prefix: Some("vnqr".into()),
                    province: None,
                },
            )
            .map_err(|e| Self::fail("issuer profile", e))?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Self::fail("random", e))?;
        let signing = SigningKey::from_bytes(&seed);
        let key_id = registry
            .add_key(
                &issuer.client.id,
                &BASE64.encode(signing.verifying_key().as_bytes()),
            )
            .map_err(|e| Self::fail("issuer key", e))?;

        // Codes: one active lot with one serialised item, one lot to recall, one issuer
        // code. Every lot has its product registered too, so that every Digital Link of
        // the demo (any lot or serial of these products) has a default link at or above
        // its level.
        let year = self.clock.now().year();
        let cleanser = gtin("893850000101");
        let sunscreen = gtin("893850000102");
        let allowed_code = format!("(01){cleanser}(10)LOT{year}A");
        let recalled_code = format!("(01){sunscreen}(10)LOT{year}R");
        let serial_code = format!("(01){cleanser}(10)LOT{year}A(21)SV0001");
        let issuer_code = "vnqr:MC-TEA-0001".to_string();
        let tea = gtin("893850000103");
        let chain_code = format!("(01){tea}(10)MC{year}01");
        let cleanser_name = "Sữa rửa mặt trà xanh Sen Việt 100 ml";
        let sunscreen_name = "Kem chống nắng Sen Việt SPF50";
        let batch = serde_json::json!({ "codes": [
            { "code": format!("(01){cleanser}"), "owner": "0799000033", "product_name": cleanser_name, "category": "cosmetics", "origin": "79" },
            { "code": allowed_code, "owner": "0799000033", "product_name": cleanser_name, "category": "cosmetics", "origin": "79", "production_date": format!("{year}-01-15"), "expiry_date": format!("{}-01-15", year + 2) },
            { "code": serial_code, "owner": "0799000033", "product_name": cleanser_name, "category": "cosmetics", "origin": "79", "production_date": format!("{year}-01-15"), "expiry_date": format!("{}-01-15", year + 2) },
            { "code": format!("(01){sunscreen}"), "owner": "0799000033", "product_name": sunscreen_name, "category": "cosmetics", "origin": "79" },
            { "code": recalled_code, "owner": "0799000033", "product_name": sunscreen_name, "category": "cosmetics", "origin": "79", "production_date": format!("{year}-02-01"), "expiry_date": format!("{}-02-01", year + 2) },
            { "code": issuer_code, "owner": "0109000015", "product_name": "Trà xanh Mộc Châu 200 g", "category": "food.fresh", "origin": "14" },
            { "code": format!("(01){tea}"), "owner": "0109000015", "product_name": "Trà xanh Mộc Châu túi lọc 100 g", "category": "food", "origin": "14" },
            { "code": chain_code, "owner": "0109000015", "product_name": "Trà xanh Mộc Châu túi lọc 100 g", "category": "food", "origin": "14", "production_date": format!("{year}-03-01"), "expiry_date": format!("{}-03-01", year + 2) }
        ]})
        .to_string();
        let signature = BASE64.encode(&signing.sign(batch.as_bytes()).to_bytes());
        registry
            .import_batch(
                &issuer.client.id,
                batch.as_bytes(),
                BatchFormat::Json,
                Some(&format!("keyid={key_id},sig={signature}")),
            )
            .map_err(|e| Self::fail("code batch", e))?;
        registry
            .set_status(
                StatusActor::Issuer(&issuer.client.id),
                &recalled_code,
                CodeStatus::Recalled,
                "Lô sản phẩm có thành phần không đúng công bố (dữ liệu mô phỏng)",
            )
            .map_err(|e| Self::fail("recall", e))?;
        // The brand's own pages, which the resolver answers beside tracegate's: product
        // information in two languages and a promotion for the lot (SYNTHETIC addresses).
        let links = crate::links::Links {
            pool: self.pool,
            clock: self.clock,
            facts: &facts,
        };
        let brand = crate::links::Manager::Issuer(issuer.client.id.clone());
        for (code, link_type, href, title, language) in [
            (
                format!("(01){cleanser}"),
                "gs1:pip",
                "https://senviet.example/vi/sua-rua-mat-tra-xanh",
                "Sữa rửa mặt trà xanh: thông tin sản phẩm",
                "vi",
            ),
            (
                format!("(01){cleanser}"),
                "gs1:pip",
                "https://senviet.example/en/green-tea-cleanser",
                "Green tea cleanser: product information",
                "en",
            ),
            (
                format!("(01){cleanser}"),
                "gs1:instructions",
                "https://senviet.example/vi/huong-dan-su-dung",
                "Hướng dẫn sử dụng",
                "vi",
            ),
            (
                allowed_code.clone(),
                "gs1:promotion",
                "https://senviet.example/vi/khuyen-mai",
                "Khuyến mãi cho lô này",
                "vi",
            ),
        ] {
            links
                .add(
                    &brand,
                    &crate::links::NewLink {
                        code,
                        link_type: link_type.into(),
                        href: href.into(),
                        title: title.into(),
                        language: Some(language.into()),
                        media_type: Some("text/html".into()),
                        context: None,
                        active_from: None,
                        active_until: None,
                    },
                )
                .map_err(|e| Self::fail("link", e))?;
        }

        // The tea lot's chain of custody: the maker packs 200 boxes on a pallet and ships it
        // to a distributor, which ships 40 boxes to a shop (both not known to tracegate,
        // recorded as unknown). An's shop is not in it: its listing of the lot goes to
        // review (`not_in_chain_of_custody`).
        crate::epcis::Epcis {
            pool: self.pool,
            clock: self.clock,
            facts: &facts,
        }
        .capture(
            &crate::epcis::Caller::Operator,
            &demo_chain(&tea, &format!("MC{year}01"), year),
        )
        .map_err(|e| Self::fail("chain of custody", e))?;

        // An's shop on the demo platform; Bích's business is later found suspended.
        let shop_id = "shop-senviet".to_string();
        let code = bindings
            .issue_code(&an)
            .map_err(|e| Self::fail("binding code", e))?;
        bindings
            .bind(
                &platform.client.id,
                &code.code,
                &shop_id,
                Some("Sen Việt Official Store"),
            )
            .map_err(|e| Self::fail("binding", e))?;
        // A buyer's complaint, filed through the platform, waiting for An's answer.
        let evidence = EvidenceStore::new(&self.config.disputes.evidence_dir);
        let disputes = Disputes {
            pool: self.pool,
            clock: self.clock,
            policies: self.policies,
            facts: &facts,
            vault: &vault,
            evidence: &evidence,
            config: &self.config.disputes,
            public_url: &self.config.server.public_url,
        };
        let dispute = disputes
            .file_for_buyer(
                &platform.client.id,
                &CaseInput {
                    shop_id: shop_id.clone(),
                    listing_id: "demo-1".into(),
                    kind: "origin_misrepresented".into(),
                    claim: "refund".into(),
                    description: "Trang sản phẩm ghi sản xuất tại TP.HCM nhưng hộp in \"Made in Thailand\" (dữ liệu mô phỏng).".into(),
                },
                &BuyerInput {
                    reference: "buyer-demo-001".into(),
                    email: "nguoi.mua@demo.tracegate.vn".into(),
                    language: Language::Vi,
                },
            )
            .map_err(|e| Self::fail("dispute", e))?;
        {
            use crate::db::schema::sellers;
            use diesel::prelude::*;
            let mut conn = self.pool.get()?;
            crate::db::write_transaction(&mut conn, |conn| {
                diesel::update(sellers::table.find(&bich))
                    .set((
                        sellers::status.eq("suspended"),
                        sellers::suspended_reason.eq("demo_sanction"),
                        sellers::suspended_at.eq(self.clock.now().naive_utc()),
                    ))
                    .execute(conn)?;
                crate::audit::append(
                    conn,
                    self.clock.now(),
                    &crate::audit::NewAuditEntry::new(
                        "demo",
                        "seller.suspended",
                        format!("account:{bich}"),
                    )
                    .details(serde_json::json!({ "reason": "demo_sanction" })),
                )?;
                Ok::<_, anyhow::Error>(())
            })?;
        }

        Ok(DemoCredentials {
            platform_client_id: platform.client.id,
            platform_client_secret: platform.client_secret,
            issuer_client_id: issuer.client.id,
            issuer_client_secret: issuer.client_secret,
            issuer_signing_seed: BASE64.encode(&seed),
            issuer_key_id: key_id,
            seller_email: seller_email.into(),
            household_email: household_email.into(),
            suspended_email: suspended_email.into(),
            admin_email: admin_email.into(),
            password: DEMO_PASSWORD.into(),
            shop_id,
            allowed_code,
            chain_code,
            recalled_code,
            issuer_code,
            officer_email: officer_email.into(),
            dispute_reference: dispute.case.summary.reference,
        })
    }
}

/// What to print after seeding or on a later start.
pub fn describe(credentials: &DemoCredentials, base: &str) -> String {
    let c = credentials;
    format!(
        r#"tracegate demo — SYNTHETIC data only (made-up people, businesses and codes)

  API docs        {base}/docs
  platform        client_id {pid}
                  client_secret {psecret}
  issuer          client_id {iid}  (codes prefix vnqr, batch key {kid})
  seller          {seller} (enterprise, shop {shop})
  household       {household}
  suspended       {suspended}
  admin officer   {admin} (enrol TOTP with POST /v1/me/totp before officer routes)
  supervisor      {officer} (Ho Chi Minh City; dispute {dispute} waits for the seller)
  password        {password} (all demo people)

Try:

  # 1. a platform token
  TOKEN=$(curl -s -u {pid}:{psecret} -d grant_type=client_credentials {base}/v1/oauth/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')

  # 2. a listing with a registered, active code: allow, with a signed attestation
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' {base}/v1/listing-checks \
    -d '{{"shop_id":"{shop}","listing_id":"demo-1","category":"cosmetics","title":"Sữa rửa mặt trà xanh","codes":["{allowed}"]}}'

  # 3. the same shop listing a recalled lot: deny, reason code_recalled
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' {base}/v1/listing-checks \
    -d '{{"shop_id":"{shop}","listing_id":"demo-2","category":"cosmetics","title":"Kem chống nắng","codes":["{recalled}"]}}'

  # 4. a lot of tea whose chain of custody (maker → distributor → shop) the shop is not
  #    in: review, reason not_in_chain_of_custody; and the chain itself
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' {base}/v1/listing-checks \
    -d '{{"shop_id":"{shop}","listing_id":"demo-3","category":"food","title":"Trà xanh Mộc Châu","codes":["{chain}"]}}'
  curl -s {base}{custody}

  # 5. what a scan of the lot's QR code answers (GS1-Conformant resolver): a redirect to
  #    the verification page, and the linkset of the lot and its product
  curl -si {base}{allowed_link}
  curl -s -H 'Accept: application/linkset+json' {base}{allowed_link}
"#,
        pid = c.platform_client_id,
        psecret = c.platform_client_secret,
        iid = c.issuer_client_id,
        kid = c.issuer_key_id,
        seller = c.seller_email,
        shop = c.shop_id,
        household = c.household_email,
        suspended = c.suspended_email,
        admin = c.admin_email,
        officer = c.officer_email,
        dispute = c.dispute_reference,
        password = c.password,
        allowed = c.allowed_code,
        recalled = c.recalled_code,
        chain = c.chain_code,
        custody = crate::codes::parse(&c.chain_code, chrono::Utc::now().year())
            .ok()
            .and_then(|p| Some(format!("/v1/lots/{}/{}/custody", p.gtin()?, p.lot()?)))
            .unwrap_or_default(),
        allowed_link = crate::codes::parse(&c.allowed_code, chrono::Utc::now().year())
            .map(|p| p.canonical().to_owned())
            .unwrap_or_default(),
    )
}

/// The demo tea lot's chain of custody as an EPCIS document (SYNTHETIC parties).
fn demo_chain(gtin14: &str, lot: &str, year: i32) -> serde_json::Value {
    let class = format!(
        "urn:epc:class:lgtin:{}.{}{}.{lot}",
        &gtin14[1..7],
        &gtin14[..1],
        &gtin14[7..13]
    );
    let pallet = "urn:epc:id:sscc:893850.00000000103";
    let maker = "urn:vn:mst:0109000015";
    let distributor = "urn:vn:mst:0319000029";
    let shop = "urn:epc:id:pgln:893850.000104";
    let at = |month: u32, day: u32| format!("{year}-{month:02}-{day:02}T09:00:00+07:00");
    serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": at(3, 10),
        "epcisBody": { "eventList": [
            {
                "type": "ObjectEvent", "eventTime": at(3, 1), "eventTimeZoneOffset": "+07:00",
                "epcList": [], "quantityList": [{ "epcClass": class, "quantity": 500 }],
                "action": "ADD", "bizStep": "commissioning", "disposition": "active",
                "readPoint": { "id": "urn:epc:id:sgln:893850.00010.0" },
            },
            {
                "type": "AggregationEvent", "eventTime": at(3, 2), "eventTimeZoneOffset": "+07:00",
                "parentID": pallet, "childEPCs": [], "childQuantityList": [{ "epcClass": class, "quantity": 200 }],
                "action": "ADD", "bizStep": "packing", "disposition": "in_progress",
            },
            {
                "type": "ObjectEvent", "eventTime": at(3, 3), "eventTimeZoneOffset": "+07:00",
                "epcList": [pallet], "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
                "sourceList": [{ "type": "owning_party", "source": maker }],
                "destinationList": [{ "type": "owning_party", "destination": distributor }],
            },
            {
                "type": "ObjectEvent", "eventTime": at(3, 8), "eventTimeZoneOffset": "+07:00",
                "epcList": [], "quantityList": [{ "epcClass": class, "quantity": 40 }],
                "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
                "sourceList": [{ "type": "owning_party", "source": distributor }],
                "destinationList": [{ "type": "owning_party", "destination": shop }],
            },
        ] },
    })
}
