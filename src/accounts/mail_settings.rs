//! A person's choices about the mail tracegate sends them: the language it is written in
//! and the optional categories they turned off. Which categories exist and which may be
//! turned off is `notify::preferences`; this is where an account reads and changes its own.

use serde::Serialize;
use utoipa::ToSchema;

use super::{AccountError, Accounts, actor, kind_of, store};
use crate::audit::{self, NewAuditEntry};
use crate::auth::PrincipalKind;
use crate::db::write_transaction;
use crate::i18n::Language;
use crate::notify::MailCategory;
use crate::notify::preferences::store as preference_store;

/// One category of mail an account receives, and whether it still gets it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailCategoryChoice {
    pub category: MailCategory,
    /// False for legal and security notices, which are always sent.
    pub silenceable: bool,
    /// Whether mail of this category is sent to the account.
    pub receives: bool,
}

/// An account's mail settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailSettings {
    /// Language of every mail to the account.
    pub language: Language,
    /// Every category the account receives, optional ones first.
    pub categories: Vec<MailCategoryChoice>,
    /// The optional categories turned off.
    pub silenced: Vec<MailCategory>,
    /// Version of the settings, also the `ETag`; send it back in `If-Match`.
    pub version: i64,
}

/// A change to the settings, as read at the edge.
#[derive(Debug, Clone)]
pub struct MailSettingsChange {
    /// A language code (`vi` or `en`).
    pub language: String,
    /// Category codes to silence; every other optional category is received.
    pub silenced: Vec<String>,
    /// The version the change was made on; `None` saves whatever the current one is.
    pub expected_version: Option<i64>,
}

/// The categories an account of `kind` receives, optional ones first.
pub fn categories_for(kind: PrincipalKind) -> Vec<MailCategory> {
    let mut categories: Vec<MailCategory> = MailCategory::ALL
        .into_iter()
        .filter(|c| c.received_by(kind))
        .collect();
    categories.sort_by_key(|c| !c.silenceable());
    categories
}

fn invalid(field: &'static str, message: String) -> AccountError {
    AccountError::Invalid { field, message }
}

/// Reads the requested categories: each must be one the account receives and may turn off.
fn parse_silenced(
    kind: PrincipalKind,
    codes: &[String],
) -> Result<Vec<MailCategory>, AccountError> {
    let optional: Vec<&str> = categories_for(kind)
        .into_iter()
        .filter(|c| c.silenceable())
        .map(MailCategory::code)
        .collect();
    let mut silenced = Vec::new();
    for code in codes {
        let category = MailCategory::parse(code)
            .filter(|c| c.received_by(kind))
            .ok_or_else(|| {
                invalid(
                    "silenced",
                    format!(
                        "{code:?} is not a category of mail this account receives; optional ones: {}",
                        optional.join(", ")
                    ),
                )
            })?;
        if !category.silenceable() {
            return Err(invalid(
                "silenced",
                format!(
                    "{code} mail is a legal or security notice and is always sent; optional ones: {}",
                    optional.join(", ")
                ),
            ));
        }
        if !silenced.contains(&category) {
            silenced.push(category);
        }
    }
    Ok(silenced)
}

fn parse_language(code: &str) -> Result<Language, AccountError> {
    match code {
        "vi" => Ok(Language::Vi),
        "en" => Ok(Language::En),
        _ => Err(invalid("language", "use vi or en".into())),
    }
}

fn settings(
    kind: PrincipalKind,
    language: Language,
    stored: preference_store::StoredPreferences,
) -> MailSettings {
    let categories = categories_for(kind)
        .into_iter()
        .map(|category| MailCategoryChoice {
            category,
            silenceable: category.silenceable(),
            receives: !(category.silenceable() && stored.silenced.contains(&category)),
        })
        .collect();
    MailSettings {
        language,
        silenced: stored
            .silenced
            .into_iter()
            .filter(|c| c.received_by(kind))
            .collect(),
        categories,
        version: stored.version,
    }
}

impl Accounts<'_> {
    /// The signed-in person's mail settings.
    pub fn mail_settings(&self, account_id: &str) -> Result<MailSettings, AccountError> {
        let mut conn = self.pool.get()?;
        let account = store::find(&mut conn, account_id)?.ok_or(AccountError::NotFound)?;
        let stored = preference_store::find(&mut conn, account_id)?;
        Ok(settings(
            kind_of(&account),
            Language::from_code(&account.language),
            stored,
        ))
    }

    /// Changes the signed-in person's mail settings. Refused, naming the field, for an
    /// unknown language or category or a category that is always sent; refused as changed
    /// meanwhile if `expected_version` is no longer current.
    pub fn set_mail_settings(
        &self,
        account_id: &str,
        change: &MailSettingsChange,
    ) -> Result<MailSettings, AccountError> {
        let language = parse_language(&change.language)?;
        let now = self.clock.now();
        let mut conn = self.pool.get()?;
        write_transaction(&mut conn, |conn| {
            let account = store::find(conn, account_id)?.ok_or(AccountError::NotFound)?;
            let kind = kind_of(&account);
            let silenced = parse_silenced(kind, &change.silenced)?;
            let current = preference_store::find(conn, account_id)?;
            let expected = change.expected_version.unwrap_or(current.version);
            if expected != current.version {
                return Err(AccountError::ChangedMeanwhile);
            }
            let version =
                preference_store::save(conn, account_id, &silenced, expected, now.naive_utc())?
                    .ok_or(AccountError::ChangedMeanwhile)?;
            store::set_language(conn, account_id, language.code(), now.naive_utc())?;
            audit::append(
                conn,
                now,
                &NewAuditEntry::new(
                    actor(account_id),
                    "account.mail_settings_changed",
                    actor(account_id),
                )
                .details(serde_json::json!({
                    "language": language.code(),
                    "silenced": silenced.iter().map(|c| c.code()).collect::<Vec<_>>(),
                })),
            )?;
            Ok(settings(
                kind,
                language,
                preference_store::StoredPreferences { silenced, version },
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mandatory_or_foreign_category_is_refused_by_name() {
        let refused = |kind, code: &str| match parse_silenced(kind, &[code.to_string()]) {
            Err(AccountError::Invalid { field, message }) => (field, message),
            other => panic!("{code}: {other:?}"),
        };
        let (field, message) = refused(PrincipalKind::Seller, "case_deadline");
        assert_eq!(field, "silenced");
        assert!(message.contains("always sent"), "{message}");
        let (_, message) = refused(PrincipalKind::Seller, "case_queue");
        assert!(message.contains("not a category"), "{message}");
        let (_, message) = refused(PrincipalKind::Officer, "newsletter");
        assert!(message.contains("case_queue"), "{message}");
        assert_eq!(
            parse_silenced(
                PrincipalKind::Seller,
                &["case_progress".into(), "case_progress".into()]
            )
            .ok(),
            Some(vec![MailCategory::CaseProgress])
        );
    }

    #[test]
    fn optional_categories_are_listed_first() {
        let seller = categories_for(PrincipalKind::Seller);
        assert_eq!(seller.first(), Some(&MailCategory::CaseProgress));
        assert!(seller[1..].iter().all(|c| !c.silenceable()));
    }
}
