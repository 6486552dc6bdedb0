//! Words for the codes pages show (statuses, outcomes, claims, steps, sanctions, audit
//! actions, field errors), in the reader's language, all from the one catalogue in
//! [`crate::i18n::catalogue`].

use crate::i18n::{Language, label, lookup};
use crate::policies::Policies;

pub fn status(code: &str, lang: Language) -> String {
    label("status", code, lang)
}

pub fn outcome(code: &str, lang: Language) -> String {
    label("outcome", code, lang)
}

pub fn claim(code: &str, lang: Language) -> String {
    label("claim", code, lang)
}

/// A step in a case's timeline.
pub fn step(code: &str, lang: Language) -> String {
    label("step", code, lang)
}

pub fn sanction(code: &str, lang: Language) -> String {
    label("sanction", code, lang)
}

/// A traceability code's status (`active`, `recalled`, `revoked`).
pub fn code_status(code: &str, lang: Language) -> String {
    label("code_status", code, lang)
}

/// An audit log action (`login.failed`).
pub fn audit_action(code: &str, lang: Language) -> String {
    label("audit", code, lang)
}

/// A kind of complaint, named as the policy names it.
pub fn kind(policies: &Policies, code: &str, lang: Language) -> String {
    match policies.disputes.kind(code) {
        Some(k) if lang.is_vi() => k.name.clone(),
        Some(k) => k.name_en.clone(),
        None => code.replace('_', " "),
    }
}

/// An error about a form field, as the reader reads it. In Vietnamese: what is wrong
/// with which field, from the catalogue (the precise reason is English and stays out);
/// in English, the precise reason itself.
pub fn field_error(field: &str, message: &str, lang: Language) -> String {
    if !lang.is_vi() {
        return message.to_string();
    }
    let field = field.split(['.', '[']).next().unwrap_or(field);
    lookup(&format!("field.{field}"), lang)
        .or_else(|| lookup("field.other", lang))
        .unwrap_or_default()
        .to_string()
}

/// Why a move on a case was refused, for a page (the error's own text is English).
pub fn dispute_error(error: &crate::disputes::DisputeError, lang: Language) -> String {
    use crate::disputes::DisputeError as E;
    if !lang.is_vi() {
        return error.to_string();
    }
    let key = match error {
        E::Invalid { field, message } => return field_error(field, message, lang),
        E::InvalidMove { .. } => "problem.invalid-move",
        E::Stale(_) => "problem.precondition-failed",
        E::Conflict(_) => "problem.conflict",
        E::UnsupportedType(_) => "problem.unsupported-media-type",
        E::TooLarge(_) => "problem.payload-too-large",
        E::EvidenceLimit(crate::disputes::EvidenceLimit::Files(_)) => "problem.evidence-files",
        E::EvidenceLimit(crate::disputes::EvidenceLimit::Bytes(_)) => "problem.evidence-bytes",
        E::NotFound(_) => "problem.not-found",
        E::Forbidden(_) => "problem.forbidden",
        E::Notify(_) | E::Database(_) | E::Pool(_) | E::Internal(_) => "problem.internal",
    };
    lookup(key, lang).unwrap_or_default().to_string()
}

/// Why a code could not be read (the parser's reason is English: kept in English only).
pub fn code_unreadable(reason: &str, lang: Language) -> String {
    if lang.is_vi() {
        lookup("problem.code-unreadable", lang)
            .unwrap_or_default()
            .to_string()
    } else {
        reason.to_string()
    }
}

/// Why a change to a code was refused, for a page.
pub fn registry_error(error: &crate::codes::registry::RegistryError, lang: Language) -> String {
    use crate::codes::registry::RegistryError as E;
    if let E::OutOfScope = error {
        return lookup("problem.code-out-of-scope", lang)
            .unwrap_or_default()
            .to_string();
    }
    if !lang.is_vi() {
        return error.to_string();
    }
    let key = match error {
        E::OutOfScope => "problem.code-out-of-scope",
        E::Invalid { field, message } => return field_error(field, message, lang),
        E::BadRows(_) => "problem.validation",
        E::NotFound(_) => "problem.not-found",
        E::Forbidden(_) => "problem.forbidden",
        E::Conflict(_) => "problem.conflict",
        E::Database(_) | E::Pool(_) | E::Notify(_) | E::Internal(_) => "problem.internal",
    };
    lookup(key, lang).unwrap_or_default().to_string()
}
