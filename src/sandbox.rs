//! The sandbox: a SYNTHETIC data set for platforms and issuers to run their own code
//! against. Unlike the demo, its credentials are fixed and documented, and it holds one
//! listing for every reason the gate can give ([`CASES`]), so an integration can be tested
//! against each answer. `tracegate sandbox` seeds it into an empty database once and serves.
//!
//! `verification_expired` needs a seller whose verification ran out: that seller is seeded
//! on an [`OffsetClock`] set back past the verification period, as if verified over a year
//! ago. The service itself runs on the system clock; nothing in its configuration moves
//! time, so production cannot be put in the past.
//!
//! [`CASES`] is the one table of listings and their reasons: the README's table is made
//! from it ([`readme_table`]) and the test checks both against the running service.

use std::fmt::Write as _;

use chrono::TimeDelta;
use data_encoding::BASE64;
use diesel::prelude::*;
use ed25519_dalek::{Signer, SigningKey};

use crate::accounts::Accounts;
use crate::auth::TokenService;
use crate::auth::hashing::HashingPool;
use crate::clients::{ClientKind, Clients};
use crate::clock::{Clock, OffsetClock, SystemClock};
use crate::codes::registry::{BatchFormat, CodeStatus, IssuerProfile, Registry, StatusActor};
use crate::config::Config;
use crate::db::DbPool;
use crate::db::schema::{accounts, clients, dispute_sanctions, sellers};
use crate::disputes::evidence::EvidenceStore;
use crate::disputes::{BuyerInput, CaseInput, Disputes};
use crate::facts::FactBus;
use crate::i18n::Language;
use crate::identity::{Bindings, BusinessClaim, BusinessKind, IdentityClaim, Registers, Sellers};
use crate::keys::KeyRing;
use crate::listings::ReasonCode;
use crate::notify::outbox::{self, OutboxState};
use crate::policies::Policies;
use crate::vault::Vault;

/// The sandbox platform's OAuth2 client credentials.
pub const PLATFORM_CLIENT_ID: &str = "tgc_sandbox_platform";
pub const PLATFORM_CLIENT_SECRET: &str = "tgs_sandbox_platform_secret";
/// The sandbox issuer's OAuth2 client credentials.
pub const ISSUER_CLIENT_ID: &str = "tgc_sandbox_issuer";
pub const ISSUER_CLIENT_SECRET: &str = "tgs_sandbox_issuer_secret";
/// Seed of the Ed25519 key that signs the sandbox issuer's code batches (32 bytes).
pub const ISSUER_SIGNING_SEED: &[u8; 32] = b"tracegate-sandbox-issuer-seed-26";
/// Password of every sandbox seller.
pub const PASSWORD: &str = "sandbox-tracegate-2026";

/// A sandbox seller: who they are, what they prove, the shop they sell through, and what
/// becomes of them after binding it.
pub struct SandboxSeller {
    pub email: &'static str,
    pub shop_id: &'static str,
    /// A synthetic citizen of `src/identity/synthetic/`: id, name, birth date.
    person: (&'static str, &'static str, &'static str),
    /// A synthetic business the seller proves (kind, code), if any.
    business: Option<(BusinessKind, &'static str)>,
    pub standing: SellerSetup,
}

/// What the seller's standing is made after binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SellerSetup {
    Verified,
    /// Verified 30 days past the verification period (seeded on an offset clock).
    Expired,
    Suspended,
    PendingReview,
    Rejected,
}

pub const SELLERS: &[SandboxSeller] = &[
    SandboxSeller {
        email: "an.nguyen@sandbox.tracegate.vn",
        shop_id: "sb-senviet",
        person: ("079085900001", "Nguyễn Văn An", "1985-03-14"),
        business: Some((BusinessKind::Enterprise, "0799000033")),
        standing: SellerSetup::Verified,
    },
    SandboxSeller {
        email: "lan.duong@sandbox.tracegate.vn",
        shop_id: "sb-household",
        person: ("046191900010", "Dương Thị Lan", "1991-06-06"),
        business: Some((BusinessKind::HouseholdBusiness, "46A8900010")),
        standing: SellerSetup::Verified,
    },
    SandboxSeller {
        email: "bich.tran@sandbox.tracegate.vn",
        shop_id: "sb-suspended",
        person: ("001190900002", "Trần Thị Bích", "1990-07-02"),
        business: Some((BusinessKind::Enterprise, "0109000015")),
        standing: SellerSetup::Suspended,
    },
    SandboxSeller {
        email: "cuong.le@sandbox.tracegate.vn",
        shop_id: "sb-expired",
        person: ("048078900003", "Lê Văn Cường", "1978-11-20"),
        business: None,
        standing: SellerSetup::Expired,
    },
    SandboxSeller {
        email: "dung.pham@sandbox.tracegate.vn",
        shop_id: "sb-pending",
        person: ("031195900004", "Phạm Thị Dung", "1995-01-09"),
        business: None,
        standing: SellerSetup::PendingReview,
    },
    SandboxSeller {
        email: "duc.hoang@sandbox.tracegate.vn",
        shop_id: "sb-rejected",
        person: ("092201900005", "Hoàng Minh Đức", "2001-05-30"),
        business: None,
        standing: SellerSetup::Rejected,
    },
];

/// A shop no seller is bound to.
pub const UNBOUND_SHOP: &str = "sb-unbound";
/// The listing a dispute sanction blocks (on `sb-senviet`).
pub const BLOCKED_LISTING: &str = "sb-blocked";

/// Codes of the sandbox (SYNTHETIC GTINs of company prefix 893850).
pub mod codes {
    /// A cleanser of Sen Việt (0799000033), registered as a product.
    pub const CLEANSER: &str = "(01)08938500002014";
    /// An active lot of it, expiring 2099.
    pub const CLEANSER_LOT: &str = "(01)08938500002014(10)SB-OK";
    pub const CLEANSER_RECALLED: &str = "(01)08938500002014(10)SB-RECALLED";
    pub const CLEANSER_REVOKED: &str = "(01)08938500002014(10)SB-REVOKED";
    /// A lot that expired in 2020.
    pub const CLEANSER_EXPIRED: &str = "(01)08938500002014(10)SB-EXPIRED";
    /// A cosmetics lot of another business (0109000015) that authorised no one.
    pub const OTHERS_LOT: &str = "(01)08938500002021(10)SB-OTHER";
    /// Tea of 0109000015: Sen Việt received 10 units of this lot (EPCIS shipping event
    /// recorded by the maker).
    pub const TEA_RECEIVED: &str = "(01)08938500002038(10)SB-TEA-1";
    /// Tea of 0109000015 that nobody shipped to Sen Việt.
    pub const TEA_NOT_RECEIVED: &str = "(01)08938500002038(10)SB-TEA-2";
    /// Well-formed, registered by no one.
    pub const UNREGISTERED: &str = "(01)08938500002991(10)SB-NONE";
    /// A GTIN with a wrong check digit.
    pub const MALFORMED: &str = "(01)08938500002015";
}

/// One listing check of the sandbox and the reason it yields.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub reason: ReasonCode,
    pub shop_id: &'static str,
    pub listing_id: &'static str,
    pub category: &'static str,
    pub codes: &'static [&'static str],
    pub origin: Option<&'static str>,
    pub quantity: Option<u64>,
    /// Why, in a few words.
    pub why: &'static str,
}

const fn case(
    reason: ReasonCode,
    shop_id: &'static str,
    listing_id: &'static str,
    category: &'static str,
    codes: &'static [&'static str],
    why: &'static str,
) -> Case {
    Case {
        reason,
        shop_id,
        listing_id,
        category,
        codes,
        origin: None,
        quantity: None,
        why,
    }
}

/// Every reason code and a listing check that yields it. Other reasons may come with it
/// (an electronics listing without a code also lacks the code); the one named is always
/// among them.
pub const CASES: &[Case] = {
    use ReasonCode::*;
    use codes::*;
    &[
        case(
            CategoryUnknown,
            "sb-senviet",
            "sb-category-unknown",
            "sandbox.unknown",
            &[],
            "a category the policy does not list",
        ),
        case(
            SellerNotBound,
            UNBOUND_SHOP,
            "sb-not-bound",
            "general",
            &[],
            "a shop no seller is bound to",
        ),
        case(
            SellerSuspended,
            "sb-suspended",
            "sb-suspended",
            "general",
            &[],
            "the shop's seller is suspended",
        ),
        case(
            VerificationExpired,
            "sb-expired",
            "sb-expired",
            "general",
            &[],
            "the seller was verified over a year ago (sandbox clock)",
        ),
        case(
            SellerPendingReview,
            "sb-pending",
            "sb-pending",
            "general",
            &[],
            "the seller's authorisation awaits an officer",
        ),
        case(
            SellerNotVerified,
            "sb-rejected",
            "sb-rejected",
            "general",
            &[],
            "the seller's verification was rejected",
        ),
        case(
            CategoryNotPermitted,
            "sb-household",
            "sb-not-permitted",
            "electronics",
            &[],
            "a household business listing electronics (enterprises only)",
        ),
        case(
            BusinessLineMissing,
            "sb-senviet",
            "sb-line-missing",
            "electronics",
            &[],
            "a cosmetics business listing electronics",
        ),
        case(
            CodeMissing,
            "sb-senviet",
            "sb-code-missing",
            "cosmetics",
            &[],
            "cosmetics need a code",
        ),
        case(
            CodeMalformed,
            "sb-senviet",
            "sb-malformed",
            "general",
            &[MALFORMED],
            "a wrong check digit",
        ),
        case(
            CodeSchemeNotAccepted,
            "sb-senviet",
            "sb-scheme",
            "handicrafts",
            &[CLEANSER_LOT],
            "handicrafts accept issuer codes only",
        ),
        case(
            CodeLevelInsufficient,
            "sb-senviet",
            "sb-level",
            "cosmetics",
            &[CLEANSER],
            "cosmetics need codes down to the lot",
        ),
        case(
            CodeUnregistered,
            "sb-senviet",
            "sb-unregistered",
            "cosmetics",
            &[UNREGISTERED],
            "no issuer registered the code",
        ),
        case(
            CodeRecalled,
            "sb-senviet",
            "sb-recalled",
            "cosmetics",
            &[CLEANSER_RECALLED],
            "the issuer recalled the lot",
        ),
        case(
            CodeRevoked,
            "sb-senviet",
            "sb-revoked",
            "cosmetics",
            &[CLEANSER_REVOKED],
            "the issuer revoked the lot",
        ),
        case(
            ProductExpired,
            "sb-senviet",
            "sb-product-expired",
            "cosmetics",
            &[CLEANSER_EXPIRED],
            "the lot expired in 2020",
        ),
        case(
            SellerNotAuthorized,
            "sb-senviet",
            "sb-not-authorized",
            "cosmetics",
            &[OTHERS_LOT],
            "another business's lot, no distributor authorisation",
        ),
        Case {
            origin: Some("01"),
            ..case(
                OriginMismatch,
                "sb-senviet",
                "sb-origin",
                "cosmetics",
                &[CLEANSER_LOT],
                "claims Hà Nội (01); the issuer registered 79",
            )
        },
        case(
            ListingBlocked,
            "sb-senviet",
            BLOCKED_LISTING,
            "cosmetics",
            &[CLEANSER_LOT],
            "a dispute sanction blocks the listing",
        ),
        case(
            NotInChainOfCustody,
            "sb-senviet",
            "sb-not-in-chain",
            "food",
            &[TEA_NOT_RECEIVED],
            "no EPCIS event shows the shop's business receiving the lot",
        ),
        Case {
            quantity: Some(50),
            ..case(
                QuantityExceedsReceived,
                "sb-senviet",
                "sb-quantity",
                "food",
                &[TEA_RECEIVED],
                "offers 50 units; 10 were received",
            )
        },
    ]
};

/// The listing check of a case, as a platform sends it.
pub fn request(case: &Case) -> serde_json::Value {
    let mut body = serde_json::json!({
        "shop_id": case.shop_id,
        "listing_id": case.listing_id,
        "category": case.category,
        "title": format!("Sandbox: {}", case.reason.as_str()),
        "codes": case.codes,
    });
    if let Some(origin) = case.origin {
        body["origin"] = origin.into();
    }
    if let Some(quantity) = case.quantity {
        body["quantity"] = quantity.into();
    }
    body
}

/// The README's table of cases (Markdown), made from [`CASES`].
pub fn readme_table() -> String {
    let mut table = String::from(
        "| reason | shop_id | listing_id | category | codes | also sent | why |\n|---|---|---|---|---|---|---|\n",
    );
    for case in CASES {
        let codes: Vec<String> = case.codes.iter().map(|c| format!("`{c}`")).collect();
        let mut also = Vec::new();
        if let Some(origin) = case.origin {
            also.push(format!("`origin: \"{origin}\"`"));
        }
        if let Some(quantity) = case.quantity {
            also.push(format!("`quantity: {quantity}`"));
        }
        let _ = writeln!(
            table,
            "| `{}` | `{}` | `{}` | `{}` | {} | {} | {} |",
            case.reason.as_str(),
            case.shop_id,
            case.listing_id,
            case.category,
            if codes.is_empty() {
                "—".to_string()
            } else {
                codes.join(" ")
            },
            if also.is_empty() {
                "—".to_string()
            } else {
                also.join(" ")
            },
            case.why
        );
    }
    table
}

/// Why the sandbox cannot be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "the database holds accounts that are not the sandbox's: the sandbox is seeded only into an empty database"
    )]
    NotEmpty,
    #[error("sandbox data: {what}: {source}")]
    Step {
        what: &'static str,
        #[source]
        source: anyhow::Error,
    },
}

fn step<E: Into<anyhow::Error>>(what: &'static str) -> impl FnOnce(E) -> SandboxError {
    move |e| SandboxError::Step {
        what,
        source: e.into(),
    }
}

pub struct Sandbox<'a> {
    pub pool: &'a DbPool,
    pub config: &'a Config,
    pub keys: &'a KeyRing,
    pub policies: &'a Policies,
    pub registers: &'a Registers,
}

/// Whether the sandbox is seeded already: `Some(true)` when it is, `Some(false)` when the
/// database is empty, `None` when it holds other data.
fn seeded(pool: &DbPool) -> Result<Option<bool>, SandboxError> {
    let mut conn = pool.get().map_err(step("database"))?;
    let platform: i64 = clients::table
        .filter(clients::id.eq(PLATFORM_CLIENT_ID))
        .count()
        .get_result(&mut conn)
        .map_err(step("database"))?;
    if platform > 0 {
        return Ok(Some(true));
    }
    let people: i64 = accounts::table
        .count()
        .get_result(&mut conn)
        .map_err(step("database"))?;
    Ok((people == 0).then_some(false))
}

impl Sandbox<'_> {
    /// Seeds the data set into an empty database; does nothing when it is there already,
    /// and refuses a database holding anything else.
    pub fn seed(&self) -> Result<(), SandboxError> {
        match seeded(self.pool)? {
            Some(true) => return Ok(()),
            None => return Err(SandboxError::NotEmpty),
            Some(false) => {}
        }
        let tokens = TokenService::new(self.keys, &self.config.server.public_url);
        let vault = Vault::new(self.keys);
        let hashing =
            HashingPool::start(1, std::time::Duration::from_secs(60)).map_err(step("hashing"))?;
        // Seeding runs before the service starts: the service loads what it publishes.
        let facts = crate::listings::fact_bus();
        let clients = Clients {
            pool: self.pool,
            config: self.config,
            clock: &SystemClock,
            tokens: &tokens,
            vault: &vault,
            hashing: &hashing,
        };
        let platform = clients
            .create_with_credentials(
                ClientKind::Platform,
                "Sàn Sandbox (synthetic platform)",
                PLATFORM_CLIENT_ID,
                PLATFORM_CLIENT_SECRET,
                "sandbox",
            )
            .map_err(step("platform"))?;
        let issuer = clients
            .create_with_credentials(
                ClientKind::Issuer,
                "Hệ thống truy xuất Sandbox (synthetic issuer)",
                ISSUER_CLIENT_ID,
                ISSUER_CLIENT_SECRET,
                "sandbox",
            )
            .map_err(step("issuer"))?;
        let platform_id = platform.client.id;
        let issuer_id = issuer.client.id;

        // Sellers first: codes need their businesses verified.
        let mut bound = Vec::new();
        for seller in SELLERS {
            let clock: Box<dyn Clock> = match seller.standing {
                SellerSetup::Expired => Box::new(OffsetClock {
                    offset: -TimeDelta::days(i64::from(self.policies.verification.valid_days) + 30),
                }),
                _ => Box::new(SystemClock),
            };
            let account = self.seller(
                seller,
                clock.as_ref(),
                &tokens,
                &vault,
                &hashing,
                &facts,
                &platform_id,
            )?;
            bound.push((seller, account));
        }

        let registry = Registry {
            pool: self.pool,
            clock: &SystemClock,
            policies: self.policies,
            facts: &facts,
        };
        registry
            .set_issuer(
                "sandbox",
                &issuer_id,
                &IssuerProfile {
                    name: "Hệ thống truy xuất nguồn gốc Sandbox".into(),
                    kind: "national".into(),
                    code_prefix: Some("sbqr".into()),
                    province: None,
                },
            )
            .map_err(step("issuer profile"))?;
        let signing = SigningKey::from_bytes(ISSUER_SIGNING_SEED);
        let key_id = registry
            .add_key(
                &issuer_id,
                &BASE64.encode(signing.verifying_key().as_bytes()),
            )
            .map_err(step("issuer key"))?;
        let batch = code_batch().to_string();
        let signature = BASE64.encode(&signing.sign(batch.as_bytes()).to_bytes());
        registry
            .import_batch(
                &issuer_id,
                batch.as_bytes(),
                BatchFormat::Json,
                Some(&format!("keyid={key_id},sig={signature}")),
            )
            .map_err(step("code batch"))?;
        for (code, status) in [
            (codes::CLEANSER_RECALLED, CodeStatus::Recalled),
            (codes::CLEANSER_REVOKED, CodeStatus::Revoked),
        ] {
            registry
                .set_status(
                    StatusActor::Issuer(&issuer_id),
                    code,
                    status,
                    "Dữ liệu sandbox (synthetic)",
                )
                .map_err(step("code status"))?;
        }

        // The maker ships 10 units of one tea lot to Sen Việt.
        crate::epcis::Epcis {
            pool: self.pool,
            clock: &SystemClock,
            facts: &facts,
        }
        .capture(&crate::epcis::Caller::Operator, &tea_shipment())
        .map_err(step("chain of custody"))?;

        // A buyer's complaint about one of Sen Việt's listings, decided with a block.
        let an = bound
            .iter()
            .find(|(s, _)| s.shop_id == "sb-senviet")
            .map(|(_, account)| account.clone())
            .unwrap_or_default();
        let evidence = EvidenceStore::new(&self.config.disputes.evidence_dir);
        let dispute = Disputes {
            pool: self.pool,
            clock: &SystemClock,
            policies: self.policies,
            facts: &facts,
            vault: &vault,
            evidence: &evidence,
            config: &self.config.disputes,
            public_url: &self.config.server.public_url,
        }
        .file_for_buyer(
            &platform_id,
            &CaseInput {
                shop_id: "sb-senviet".into(),
                listing_id: BLOCKED_LISTING.into(),
                kind: "origin_misrepresented".into(),
                claim: "refund".into(),
                description: "Sản phẩm không đúng nguồn gốc ghi trên trang (dữ liệu sandbox)."
                    .into(),
            },
            &BuyerInput {
                reference: "sandbox-buyer-001".into(),
                email: "nguoi.mua@sandbox.tracegate.vn".into(),
                language: Language::Vi,
            },
        )
        .map_err(step("dispute"))?;

        // Standings that no public flow reaches in a moment, and the block.
        let mut conn = self.pool.get().map_err(step("database"))?;
        let now = SystemClock.now_naive();
        crate::db::write_transaction(&mut conn, |conn| {
            for (seller, account) in &bound {
                let target = sellers::table.find(account);
                match seller.standing {
                    SellerSetup::Suspended => {
                        diesel::update(target)
                            .set((
                                sellers::status.eq("suspended"),
                                sellers::suspended_reason.eq("sandbox"),
                                sellers::suspended_at.eq(now),
                            ))
                            .execute(conn)?;
                    }
                    SellerSetup::PendingReview => {
                        diesel::update(target)
                            .set(sellers::business_status.eq("pending_review"))
                            .execute(conn)?;
                    }
                    SellerSetup::Rejected => {
                        diesel::update(target)
                            .set(sellers::identity_status.eq("rejected"))
                            .execute(conn)?;
                    }
                    SellerSetup::Verified | SellerSetup::Expired => {}
                }
            }
            diesel::insert_into(dispute_sanctions::table)
                .values((
                    dispute_sanctions::id.eq(uuid::Uuid::now_v7().to_string()),
                    dispute_sanctions::dispute_id.eq(&dispute.case.summary.id),
                    dispute_sanctions::seller_id.eq(&an),
                    dispute_sanctions::kind.eq("block_listing"),
                    dispute_sanctions::target.eq(format!("{platform_id}/{BLOCKED_LISTING}")),
                    dispute_sanctions::created_at.eq(now),
                ))
                .execute(conn)?;
            crate::audit::append(
                conn,
                SystemClock.now(),
                &crate::audit::NewAuditEntry::new("sandbox", "sandbox.seeded", "sandbox"),
            )?;
            Ok::<_, diesel::result::Error>(())
        })
        .map_err(step("standings"))?;
        Ok(())
    }

    /// Registers, verifies and binds one seller on `clock`; returns the account id.
    #[expect(
        clippy::too_many_arguments,
        reason = "the services one seller is made with"
    )]
    fn seller(
        &self,
        seller: &SandboxSeller,
        clock: &dyn Clock,
        tokens: &TokenService,
        vault: &Vault,
        hashing: &HashingPool,
        facts: &FactBus,
        platform_id: &str,
    ) -> Result<String, SandboxError> {
        let retention =
            crate::retention::RetentionPolicy::load(self.config.policies.dir.as_deref())
                .map_err(step("retention policy"))?;
        let accounts = Accounts {
            pool: self.pool,
            config: self.config,
            clock,
            tokens,
            vault,
            hashing,
            retention: &retention,
        };
        let sellers = Sellers {
            pool: self.pool,
            clock,
            vault,
            policies: self.policies,
            registers: self.registers,
            facts,
        };
        let bindings = Bindings {
            pool: self.pool,
            clock,
            policies: self.policies,
            facts,
        };
        accounts
            .register(seller.email, PASSWORD, Language::Vi)
            .map_err(step("register"))?;
        accounts
            .verify_email(&self.link_token(seller.email)?)
            .map_err(step("verify email"))?;
        let mut conn = self.pool.get().map_err(step("database"))?;
        let account: String = accounts::table
            .filter(accounts::email.eq(seller.email))
            .select(accounts::id)
            .first(&mut conn)
            .map_err(step("account"))?;
        drop(conn);
        let (national_id, full_name, birth_date) = seller.person;
        sellers
            .submit_identity(
                &account,
                &IdentityClaim {
                    national_id,
                    full_name,
                    birth_date,
                    source: "sandbox",
                },
            )
            .map_err(step("identity"))?;
        if let Some((kind, code)) = seller.business {
            sellers
                .submit_business(
                    &account,
                    &BusinessClaim {
                        kind,
                        code,
                        authorisation_note: None,
                    },
                )
                .map_err(step("business"))?;
        }
        let code = bindings
            .issue_code(&account)
            .map_err(step("binding code"))?;
        bindings
            .bind(platform_id, &code.code, seller.shop_id, None)
            .map_err(step("binding"))?;
        Ok(account)
    }

    /// The token of the newest mail to `to` still in the outbox.
    fn link_token(&self, to: &str) -> Result<String, SandboxError> {
        let mut conn = self.pool.get().map_err(step("database"))?;
        let rows =
            outbox::list(&mut conn, OutboxState::Pending, None, 500).map_err(step("outbox"))?;
        let text = rows
            .iter()
            .find(|r| r.destination == to)
            .and_then(|row| row.payload.split("token=").nth(1))
            .unwrap_or("");
        Ok(text
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect())
    }
}

/// The signed batch of the sandbox's codes.
fn code_batch() -> serde_json::Value {
    use codes::*;
    let lot = |code: &str, owner: &str, name: &str, category: &str, origin: &str, expiry: &str| serde_json::json!({ "code": code, "owner": owner, "product_name": name, "category": category, "origin": origin, "production_date": "2018-01-15", "expiry_date": expiry });
    let cleanser = "Sữa rửa mặt Sandbox 100 ml";
    let tea = "Trà xanh Sandbox 100 g";
    serde_json::json!({ "codes": [
        { "code": CLEANSER, "owner": "0799000033", "product_name": cleanser, "category": "cosmetics", "origin": "79" },
        lot(CLEANSER_LOT, "0799000033", cleanser, "cosmetics", "79", "2099-12-31"),
        lot(CLEANSER_RECALLED, "0799000033", cleanser, "cosmetics", "79", "2099-12-31"),
        lot(CLEANSER_REVOKED, "0799000033", cleanser, "cosmetics", "79", "2099-12-31"),
        lot(CLEANSER_EXPIRED, "0799000033", cleanser, "cosmetics", "79", "2020-01-15"),
        lot(OTHERS_LOT, "0109000015", "Kem dưỡng Sandbox", "cosmetics", "01", "2099-12-31"),
        lot(TEA_RECEIVED, "0109000015", tea, "food", "14", "2099-12-31"),
        lot(TEA_NOT_RECEIVED, "0109000015", tea, "food", "14", "2099-12-31"),
    ]})
}

/// The maker (0109000015) ships 10 units of the received tea lot to Sen Việt (0799000033).
fn tea_shipment() -> serde_json::Value {
    serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-10T09:00:00+07:00",
        "epcisBody": { "eventList": [{
            "type": "ObjectEvent", "eventTime": "2026-01-10T09:00:00+07:00", "eventTimeZoneOffset": "+07:00",
            "epcList": [], "quantityList": [{ "epcClass": "urn:epc:class:lgtin:893850.0000203.SB-TEA-1", "quantity": 10 }],
            "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
            "sourceList": [{ "type": "owning_party", "source": "urn:vn:mst:0109000015" }],
            "destinationList": [{ "type": "owning_party", "destination": "urn:vn:mst:0799000033" }],
        }] },
    })
}

/// What `tracegate sandbox` prints.
pub fn describe(base: &str) -> String {
    let mut text = format!(
        "tracegate sandbox — SYNTHETIC data only (made-up people, businesses and codes)

  API docs      {base}/docs
  platform      client_id {PLATFORM_CLIENT_ID}
                client_secret {PLATFORM_CLIENT_SECRET}
  issuer        client_id {ISSUER_CLIENT_ID}
                client_secret {ISSUER_CLIENT_SECRET}
                batch signing key: Ed25519 seed (base64) {seed}
                (its key id: GET /v1/issuers/me/keys)
  sellers       password {PASSWORD}
",
        seed = BASE64.encode(ISSUER_SIGNING_SEED),
    );
    for seller in SELLERS {
        let _ = writeln!(
            text,
            "                {} (shop {}, {:?})",
            seller.email, seller.shop_id, seller.standing
        );
    }
    text.push_str(
        "\nListings and the reason each yields (POST /v1/listing-checks as the platform):\n\n",
    );
    text.push_str(&readme_table());
    text
}

/// Migrates the database and seeds the sandbox when it is not there yet: what
/// `tracegate sandbox` does before serving (and the tests before starting the service).
pub async fn prepare(config: &Config) -> anyhow::Result<()> {
    let connections = config.connections().map_err(anyhow::Error::msg)?;
    let pool = crate::db::build_pool(
        connections,
        1,
        std::time::Duration::from_secs(u64::from(config.database.connect_timeout_secs)),
    );
    crate::startup::migrate(&pool).await?;
    let keys = KeyRing::load_or_generate(&config.keys)?;
    let policies = match &config.policies.dir {
        Some(dir) => Policies::from_dir(std::path::Path::new(dir))?,
        None => Policies::built_in()?,
    };
    let registers = Registers::from_config(&config.identity).map_err(anyhow::Error::msg)?;
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        Sandbox {
            pool: &pool,
            config: &config,
            keys: &keys,
            policies: &policies,
            registers: &registers,
        }
        .seed()
    })
    .await??;
    Ok(())
}
