//! A case as a thread people read: every message with who wrote it, when, and the files
//! that came with it; the progress steps; and each party's next deadline. The buyer's, the
//! seller's and the console's case pages all show it. People are named (the seller, the
//! shop, the marketplace, the officer), never shown as account ids.

use std::collections::HashMap;

use crate::disputes::{DisputeView, EventView};
use crate::error::AppError;
use crate::i18n::{Language, label, lookup};
use crate::state::AppState;

use super::labels;

/// One message of the thread.
pub struct Message {
    pub at: String,
    /// `buyer`, `seller`, `officer`, `platform` or `system`: the side it comes from (style).
    pub side: &'static str,
    pub who: String,
    pub what: String,
    /// (label, text): the words written, each under what they are.
    pub parts: Vec<(String, String)>,
    /// (download link, file name).
    pub files: Vec<(String, String)>,
    /// Shown to officers only.
    pub internal: bool,
}

/// A step on the way to the end of a case: `done`, `current` or `todo`.
pub struct Step {
    pub label: String,
    pub state: &'static str,
}

/// The names behind a case's ids.
#[derive(Default)]
pub struct Names {
    pub seller: Option<String>,
    pub shop: Option<String>,
    pub platform: Option<String>,
    /// Officers' account ids → how the console names them.
    pub officers: HashMap<String, String>,
}

impl Names {
    /// Looks the names up: the seller's business (or person), the shop and marketplace of
    /// the binding, and, for officers' eyes, the officers who acted.
    pub async fn of(
        state: &actix_web::web::Data<AppState>,
        view: &DisputeView,
        events: &[EventView],
        with_officers: bool,
    ) -> Result<Names, AppError> {
        let shared = state.clone();
        let seller_id = view.summary.seller_id.clone();
        let platform_id = view.summary.platform_id.clone();
        let shop_id = view.shop_id.clone();
        let accounts: Vec<String> = if with_officers {
            events
                .iter()
                .filter_map(|e| e.actor.strip_prefix("account:"))
                .chain(view.summary.assignee_id.as_deref())
                .chain(events.iter().filter_map(|e| e.details["assignee"].as_str()))
                .filter(|id| *id != seller_id)
                .map(str::to_string)
                .collect()
        } else {
            Vec::new()
        };
        state
            .blocking(move || {
                let sellers = super::seller_service(&shared);
                let verification = sellers.verification(&seller_id).map_err(AppError::from)?;
                let seller = verification
                    .business
                    .as_ref()
                    .and_then(|b| b.name.clone())
                    .or(verification.identity.full_name.clone());
                let bindings = crate::identity::Bindings {
                    pool: &shared.pool,
                    clock: shared.clock.as_ref(),
                    policies: &shared.policies,
                    facts: &shared.facts,
                }
                .list(&seller_id)
                .map_err(AppError::from)?;
                let binding = bindings
                    .iter()
                    .find(|b| b.platform_id == platform_id && b.shop_id == shop_id);
                let mut names = Names {
                    seller,
                    shop: binding.and_then(|b| b.shop_name.clone()),
                    platform: binding.and_then(|b| b.platform_name.clone()),
                    officers: HashMap::new(),
                };
                if names.platform.is_none() {
                    names.platform = super::client_service(&shared)
                        .get(&platform_id)
                        .ok()
                        .map(|c| c.name);
                }
                names.officers = super::account_service(&shared)
                    .names_of(&accounts)
                    .map_err(AppError::from)?;
                Ok(names)
            })
            .await
    }

    /// Who an event's actor is, in words: (side, name).
    fn actor(&self, actor: &str, seller_id: &str, lang: Language) -> (&'static str, String) {
        let role = |r: &str| label("role", r, lang);
        let with_name = |r: &str, name: Option<&String>| match name {
            Some(n) => format!("{} {n}", role(r)),
            None => role(r),
        };
        if let Some(id) = actor.strip_prefix("account:") {
            if id == seller_id {
                return ("seller", with_name("seller", self.seller.as_ref()));
            }
            return ("officer", with_name("officer", self.officers.get(id)));
        }
        if actor.starts_with("client:") {
            return ("platform", with_name("platform", self.platform.as_ref()));
        }
        match actor {
            "seller" => ("seller", with_name("seller", self.seller.as_ref())),
            "officer" => ("officer", role("officer")),
            "buyer" => ("buyer", role("buyer")),
            _ => ("system", role("system")),
        }
    }

    /// The shop, by name when the binding has one.
    pub fn shop_shown(&self, view: &DisputeView) -> String {
        self.shop.clone().unwrap_or_else(|| view.shop_id.clone())
    }

    pub fn seller_shown(&self, view: &DisputeView) -> String {
        self.seller
            .clone()
            .unwrap_or_else(|| view.summary.seller_id.clone())
    }

    pub fn platform_shown(&self, view: &DisputeView) -> String {
        self.platform
            .clone()
            .unwrap_or_else(|| view.summary.platform_id.clone())
    }

    /// An officer by name (console only), for the assignee.
    pub fn officer(&self, id: &str) -> String {
        self.officers
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

fn words(key: &str, lang: Language) -> String {
    lookup(key, lang).unwrap_or_default().to_string()
}

/// The case's messages, oldest first. `file_link` makes the download link of an evidence id.
pub fn messages(
    view: &DisputeView,
    events: &[EventView],
    names: &Names,
    policies: &crate::policies::Policies,
    lang: Language,
    file_link: &dyn Fn(&str) -> String,
) -> Vec<Message> {
    let text = |e: &EventView, field: &str| {
        e.details[field]
            .as_str()
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
    };
    let mut out: Vec<Message> = Vec::new();
    for e in events {
        let (side, who) = names.actor(&e.actor, &view.summary.seller_id, lang);
        let mut parts = Vec::new();
        let mut files = Vec::new();
        let part = |key: &str, value: String| (words(key, lang), value);
        match e.action.as_str() {
            "filed" | "filing_linked" => {
                if let Some(kind) = text(e, "kind") {
                    parts.push(part("thread.kind", labels::kind(policies, &kind, lang)));
                }
                if let Some(claim) = text(e, "claim") {
                    parts.push(part("thread.claim", labels::claim(&claim, lang)));
                }
                if let Some(d) = text(e, "description") {
                    parts.push(part("thread.description", d));
                }
            }
            "respond" => {
                if let Some(s) = text(e, "statement") {
                    parts.push(part("thread.answer", s));
                }
                let offer = text(e, "offer").unwrap_or_else(|| "none".into());
                parts.push(part("thread.offer", label("offer", &offer, lang)));
            }
            "request_information" => {
                if let Some(from) = text(e, "from") {
                    parts.push(part("thread.asked", label("role", &from, lang)));
                }
                if let Some(q) = text(e, "question") {
                    parts.push(part("thread.question", q));
                }
            }
            "supply_information" => {
                if let Some(a) = text(e, "answer") {
                    parts.push(part("thread.reply", a));
                }
            }
            "decide" | "decide_appeal" => {
                let stage = if e.action == "decide" {
                    "first"
                } else {
                    "appeal"
                };
                if let Some(d) = view.decisions.iter().find(|d| d.stage == stage) {
                    parts.push(part("thread.outcome", labels::outcome(&d.outcome, lang)));
                    parts.push(part("thread.reasons", d.statement.clone()));
                }
                if stage == "first" {
                    let sanctions: Vec<String> = view
                        .sanctions
                        .iter()
                        .map(|s| {
                            let mut line = labels::sanction(&s.kind, lang);
                            if let Some(days) = s.days {
                                line.push_str(&format!(" ({days} {})", words("thread.days", lang)));
                            }
                            if s.lifted {
                                line.push_str(&format!(" — {}", words("thread.lifted", lang)));
                            }
                            line
                        })
                        .collect();
                    if !sanctions.is_empty() {
                        parts.push(part("thread.sanctions", sanctions.join("; ")));
                    }
                    if let Some(due) = view.deadlines.appeal {
                        parts.push(part(
                            "thread.appeal_until",
                            super::deadline_shown(Some(due)),
                        ));
                    }
                }
            }
            "appeal" => {
                if let Some(g) = text(e, "grounds") {
                    parts.push(part("thread.grounds", g));
                }
            }
            "escalate" | "withdraw" => {
                if let Some(r) = text(e, "reason") {
                    parts.push(part("thread.reason", r));
                }
            }
            "accept" | "record_settlement" | "resume_review" | "note" => {
                if let Some(n) = text(e, "note") {
                    parts.push(part("thread.note", n));
                }
            }
            "assigned" => {
                let to = text(e, "assignee")
                    .map(|a| names.officer(&a))
                    .unwrap_or_else(|| "—".into());
                parts.push(part("thread.assignee", to));
            }
            "evidence_added" => {
                if let (Some(id), Some(name)) = (text(e, "evidence_id"), text(e, "file_name"))
                    && view.evidence.iter().any(|v| v.id == id)
                {
                    files.push((file_link(&id), name));
                }
                // A file joins the message its sender wrote just before, when there is one.
                if let Some(last) = out.last_mut()
                    && last.who == who
                    && !files.is_empty()
                {
                    last.files.append(&mut files);
                    continue;
                }
            }
            _ => {}
        }
        out.push(Message {
            at: e.at.format("%d/%m/%Y %H:%M").to_string(),
            side,
            who,
            what: labels::step(&e.action, lang),
            parts,
            files,
            internal: e.internal,
        });
    }
    out
}

/// filed → seller answered → under review → decided → appeal, with where the case is.
pub fn progress(view: &DisputeView, events: &[EventView], lang: Language) -> Vec<Step> {
    let happened = |actions: &[&str]| events.iter().any(|e| actions.contains(&e.action.as_str()));
    let reached = [
        ("progress.filed", true),
        ("progress.answered", happened(&["respond", "accept"])),
        (
            "progress.review",
            happened(&["escalate", "request_information"]) || view.decisions.iter().any(|_| true),
        ),
        ("progress.decided", !view.decisions.is_empty()),
        ("progress.appeal", happened(&["appeal"])),
    ];
    let last = reached.iter().rposition(|(_, r)| *r).unwrap_or(0);
    let ended = matches!(
        view.summary.status.as_str(),
        "closed" | "withdrawn" | "settled" | "appeal_decided"
    );
    reached
        .iter()
        .enumerate()
        .map(|(i, (key, r))| Step {
            label: words(key, lang),
            state: if *r && (i < last || ended) {
                "done"
            } else if i == last {
                "current"
            } else {
                "todo"
            },
        })
        .collect()
}

/// Each party's next deadline: (whose, when), those that are set.
pub fn deadlines(view: &DisputeView, lang: Language) -> Vec<(String, String)> {
    let d = &view.deadlines;
    [
        ("deadline.seller_answer", d.seller_answer),
        ("deadline.buyer_reply", d.buyer_reply),
        (
            "deadline.resolution",
            d.resolution
                .filter(|_| !d.paused && view.decisions.is_empty()),
        ),
        (
            "deadline.appeal",
            d.appeal.filter(|_| view.summary.status == "decided"),
        ),
    ]
    .into_iter()
    .filter_map(|(key, at)| at.map(|at| (words(key, lang), super::deadline_shown(Some(at)))))
    .collect()
}
