//! Which mail a person may choose not to receive. Every mail belongs to one
//! [`MailCategory`]; a category is either a notice the law or the account's security needs
//! the person to get (never silenced) or routine news they may turn off. The outbox checks
//! the recipient's choice when a mail is queued ([`crate::notify::queue_mail`]), so no
//! sender can forget it.

pub mod store;

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::PrincipalKind;

/// What a mail is about, as far as its recipient may choose whether to get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailCategory {
    /// Address verification, password reset and change, sign-up attempts on the address,
    /// invitations: the account's security depends on them.
    AccountSecurity,
    /// A case asks something of the recipient by a date: a complaint to answer, the
    /// seller's answer to accept or escalate, information requested, a reminder of the
    /// answer's deadline, a case past its resolution deadline.
    CaseDeadline,
    /// Where a case stands changes: sent to the Department, decided, appealed, settled,
    /// withdrawn, closed. Decisions and sanctions are served this way.
    CaseProceedings,
    /// The seller's right to sell: a suspension, and the notice that verification expires.
    SellerStanding,
    /// Routine activity on a case that asks nothing of the recipient: the information an
    /// officer asked for was supplied and the review goes on.
    CaseProgress,
    /// For officers: a case or an appeal reached their provinces' queue (the console shows
    /// the queue, and a case past its deadline is still mailed as [`Self::CaseDeadline`]).
    CaseQueue,
}

impl MailCategory {
    pub const ALL: [MailCategory; 6] = [
        MailCategory::AccountSecurity,
        MailCategory::CaseDeadline,
        MailCategory::CaseProceedings,
        MailCategory::SellerStanding,
        MailCategory::CaseProgress,
        MailCategory::CaseQueue,
    ];

    pub fn code(self) -> &'static str {
        match self {
            MailCategory::AccountSecurity => "account_security",
            MailCategory::CaseDeadline => "case_deadline",
            MailCategory::CaseProceedings => "case_proceedings",
            MailCategory::SellerStanding => "seller_standing",
            MailCategory::CaseProgress => "case_progress",
            MailCategory::CaseQueue => "case_queue",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Whether the recipient may turn this mail off. Legal notices (deadlines, decisions,
    /// sanctions, suspensions, verification) and security notices never are: a person
    /// must not lose a right or an account because a box was unticked.
    pub fn silenceable(self) -> bool {
        match self {
            MailCategory::AccountSecurity
            | MailCategory::CaseDeadline
            | MailCategory::CaseProceedings
            | MailCategory::SellerStanding => false,
            MailCategory::CaseProgress | MailCategory::CaseQueue => true,
        }
    }

    /// Whether an account of this kind gets mail of this category at all (what its
    /// settings page lists).
    pub fn received_by(self, kind: PrincipalKind) -> bool {
        match kind {
            PrincipalKind::Seller => self != MailCategory::CaseQueue,
            PrincipalKind::Officer => matches!(
                self,
                MailCategory::AccountSecurity
                    | MailCategory::CaseDeadline
                    | MailCategory::CaseQueue
            ),
            PrincipalKind::Platform | PrincipalKind::Issuer => false,
        }
    }

    /// The category of a dispute mail: the step (`DisputeUpdate::step`) and who it is for
    /// (`buyer`, `seller`, `officer`). A step not known here is treated as mandatory: when
    /// in doubt, the mail is sent.
    pub fn of_dispute_step(step: &str, to: &str) -> Self {
        match (step, to) {
            ("filed", "seller")
            | ("responded", "buyer")
            | ("information_requested", _)
            | ("reminder", _)
            | ("overdue", _) => MailCategory::CaseDeadline,
            ("escalated" | "appealed", "officer") => MailCategory::CaseQueue,
            ("information_supplied", "buyer" | "seller") => MailCategory::CaseProgress,
            _ => MailCategory::CaseProceedings,
        }
    }
}

/// A stored list of silenced categories (`a,b`), read as the categories that can be
/// silenced: anything else in it is ignored, so a bad row can never silence a legal notice.
pub fn parse_silenced(text: &str) -> Vec<MailCategory> {
    text.split(',')
        .filter_map(|code| MailCategory::parse(code.trim()))
        .filter(|c| c.silenceable())
        .collect()
}

/// The list as stored, in the order of [`MailCategory::ALL`].
pub fn stored_silenced(categories: &[MailCategory]) -> String {
    MailCategory::ALL
        .into_iter()
        .filter(|c| categories.contains(c))
        .map(MailCategory::code)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_and_security_notices_can_never_be_silenced() {
        for category in [
            MailCategory::AccountSecurity,
            MailCategory::CaseDeadline,
            MailCategory::CaseProceedings,
            MailCategory::SellerStanding,
        ] {
            assert!(!category.silenceable(), "{category:?}");
        }
        assert!(MailCategory::CaseProgress.silenceable());
        assert!(MailCategory::CaseQueue.silenceable());
    }

    #[test]
    fn every_dispute_step_that_asks_or_decides_is_mandatory() {
        for (step, to) in [
            ("filed", "seller"),
            ("filed", "buyer"),
            ("responded", "buyer"),
            ("escalated", "seller"),
            ("escalated", "buyer"),
            ("information_requested", "seller"),
            ("information_requested", "buyer"),
            ("decided", "seller"),
            ("decided", "buyer"),
            ("appealed", "seller"),
            ("appeal_decided", "seller"),
            ("closed", "buyer"),
            ("withdrawn", "seller"),
            ("settled", "seller"),
            ("reminder", "seller"),
            ("overdue", "officer"),
            ("something_new", "seller"),
        ] {
            let category = MailCategory::of_dispute_step(step, to);
            assert!(!category.silenceable(), "{step} to {to}: {category:?}");
        }
    }

    #[test]
    fn routine_case_activity_is_optional() {
        assert_eq!(
            MailCategory::of_dispute_step("information_supplied", "seller"),
            MailCategory::CaseProgress
        );
        assert_eq!(
            MailCategory::of_dispute_step("information_supplied", "buyer"),
            MailCategory::CaseProgress
        );
        assert_eq!(
            MailCategory::of_dispute_step("escalated", "officer"),
            MailCategory::CaseQueue
        );
        assert_eq!(
            MailCategory::of_dispute_step("appealed", "officer"),
            MailCategory::CaseQueue
        );
    }

    #[test]
    fn each_kind_of_account_is_offered_what_it_receives() {
        let optional = |kind| {
            MailCategory::ALL
                .into_iter()
                .filter(|c| c.received_by(kind) && c.silenceable())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            optional(PrincipalKind::Seller),
            [MailCategory::CaseProgress]
        );
        assert_eq!(optional(PrincipalKind::Officer), [MailCategory::CaseQueue]);
        assert!(
            !MailCategory::ALL
                .into_iter()
                .any(|c| c.received_by(PrincipalKind::Platform))
        );
    }

    #[test]
    fn a_stored_list_never_silences_a_mandatory_category() {
        assert_eq!(
            parse_silenced("case_progress, case_deadline,unknown,,account_security"),
            [MailCategory::CaseProgress]
        );
        assert_eq!(
            stored_silenced(&[MailCategory::CaseQueue, MailCategory::CaseProgress]),
            "case_progress,case_queue"
        );
        for category in MailCategory::ALL {
            assert_eq!(MailCategory::parse(category.code()), Some(category));
        }
    }
}
