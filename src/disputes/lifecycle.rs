//! The life of a case: every state, every move, and who may make it, in one table. Any
//! move not in the table is refused, naming the moves possible now.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Filed directly by a buyer who has not confirmed their email address yet.
    Filed,
    AwaitingSeller,
    SellerResponded,
    UnderReview,
    /// An officer asked a party for more; the resolution clock stands still.
    InformationRequested,
    Decided,
    Appealed,
    AppealDecided,
    Closed,
    Withdrawn,
    /// Settled by agreement between buyer and seller.
    Settled,
}

pub const ALL_STATUSES: &[Status] = &[
    Status::Filed,
    Status::AwaitingSeller,
    Status::SellerResponded,
    Status::UnderReview,
    Status::InformationRequested,
    Status::Decided,
    Status::Appealed,
    Status::AppealDecided,
    Status::Closed,
    Status::Withdrawn,
    Status::Settled,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Filed => "filed",
            Status::AwaitingSeller => "awaiting_seller",
            Status::SellerResponded => "seller_responded",
            Status::UnderReview => "under_review",
            Status::InformationRequested => "information_requested",
            Status::Decided => "decided",
            Status::Appealed => "appealed",
            Status::AppealDecided => "appeal_decided",
            Status::Closed => "closed",
            Status::Withdrawn => "withdrawn",
            Status::Settled => "settled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ALL_STATUSES.iter().copied().find(|s| s.as_str() == text)
    }

    /// Still waiting for a first decision (counts toward overdue and the resolution clock).
    pub fn is_pending_decision(self) -> bool {
        matches!(
            self,
            Status::AwaitingSeller
                | Status::SellerResponded
                | Status::UnderReview
                | Status::InformationRequested
        )
    }

    /// Nothing more will happen.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Withdrawn | Status::Settled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    /// The buyer confirms their email address (cases filed directly).
    Confirm,
    Respond,
    /// The buyer accepts the seller's answer.
    Accept,
    /// To an officer: the buyer refuses the answer, the seller was silent, or an officer
    /// takes the case up.
    Escalate,
    RequestInformation,
    SupplyInformation,
    /// The officer goes on without the information asked for.
    ResumeReview,
    Decide,
    /// The parties agreed while an officer had the case.
    RecordSettlement,
    Appeal,
    DecideAppeal,
    Close,
    Withdraw,
}

impl Move {
    pub fn as_str(self) -> &'static str {
        match self {
            Move::Confirm => "confirm",
            Move::Respond => "respond",
            Move::Accept => "accept",
            Move::Escalate => "escalate",
            Move::RequestInformation => "request_information",
            Move::SupplyInformation => "supply_information",
            Move::ResumeReview => "resume_review",
            Move::Decide => "decide",
            Move::RecordSettlement => "record_settlement",
            Move::Appeal => "appeal",
            Move::DecideAppeal => "decide_appeal",
            Move::Close => "close",
            Move::Withdraw => "withdraw",
        }
    }
}

/// Who makes a move. A platform that filed for its buyer acts as the buyer; supervisors
/// (and administrators) are officers too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Buyer,
    Seller,
    Officer,
    Supervisor,
    System,
}

use Move::*;
use Role::*;
use Status::*;

const OPEN: &[Status] = &[
    Filed,
    AwaitingSeller,
    SellerResponded,
    UnderReview,
    InformationRequested,
];

/// (from, move, to, who may).
const TABLE: &[(Status, Move, Status, &[Role])] = &[
    (Filed, Confirm, AwaitingSeller, &[Buyer]),
    (AwaitingSeller, Respond, SellerResponded, &[Seller]),
    (AwaitingSeller, Escalate, UnderReview, &[Officer, System]),
    (SellerResponded, Accept, Settled, &[Buyer]),
    (
        SellerResponded,
        Escalate,
        UnderReview,
        &[Buyer, Officer, System],
    ),
    (
        UnderReview,
        RequestInformation,
        InformationRequested,
        &[Officer],
    ),
    (
        InformationRequested,
        SupplyInformation,
        UnderReview,
        &[Buyer, Seller],
    ),
    (InformationRequested, ResumeReview, UnderReview, &[Officer]),
    (UnderReview, Decide, Decided, &[Officer]),
    (UnderReview, RecordSettlement, Settled, &[Officer]),
    (Decided, Appeal, Appealed, &[Buyer, Seller]),
    (Decided, Close, Closed, &[System]),
    (Appealed, DecideAppeal, AppealDecided, &[Supervisor]),
    (AppealDecided, Close, Closed, &[System]),
];

/// Where `mv` leads from `from` when made by someone holding `roles`, or `None`.
pub fn next(from: Status, mv: Move, roles: &[Role]) -> Option<Status> {
    if mv == Withdraw {
        let by_system = from == Filed && roles.contains(&System);
        return (OPEN.contains(&from) && (roles.contains(&Buyer) || by_system))
            .then_some(Withdrawn);
    }
    TABLE
        .iter()
        .find(|(f, m, _, who)| *f == from && *m == mv && who.iter().any(|r| roles.contains(r)))
        .map(|(_, _, to, _)| *to)
}

/// The moves someone holding `roles` can make now as actions (confirming is done by
/// the link mailed to the buyer, not as an action).
pub fn possible(from: Status, roles: &[Role]) -> Vec<Move> {
    let mut moves: Vec<Move> = TABLE
        .iter()
        .filter(|(f, m, _, who)| {
            *f == from && *m != Confirm && who.iter().any(|r| roles.contains(r))
        })
        .map(|(_, m, _, _)| *m)
        .collect();
    if next(from, Withdraw, roles).is_some() {
        moves.push(Withdraw);
    }
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_paths_are_in_the_table() {
        assert_eq!(next(Filed, Confirm, &[Buyer]), Some(AwaitingSeller));
        assert_eq!(
            next(AwaitingSeller, Respond, &[Seller]),
            Some(SellerResponded)
        );
        assert_eq!(next(SellerResponded, Accept, &[Buyer]), Some(Settled));
        assert_eq!(next(AwaitingSeller, Escalate, &[System]), Some(UnderReview));
        assert_eq!(next(UnderReview, Decide, &[Officer]), Some(Decided));
        assert_eq!(next(Decided, Appeal, &[Seller]), Some(Appealed));
        assert_eq!(
            next(Appealed, DecideAppeal, &[Officer, Supervisor]),
            Some(AppealDecided)
        );
        assert_eq!(next(AppealDecided, Close, &[System]), Some(Closed));
    }

    #[test]
    fn the_wrong_party_or_state_is_refused() {
        assert_eq!(next(AwaitingSeller, Respond, &[Buyer]), None);
        assert_eq!(next(UnderReview, Decide, &[Seller]), None);
        assert_eq!(
            next(Appealed, DecideAppeal, &[Officer]),
            None,
            "needs a supervisor"
        );
        assert_eq!(next(Decided, Decide, &[Officer]), None, "decided once");
        assert_eq!(
            next(Decided, Withdraw, &[Buyer]),
            None,
            "too late to withdraw"
        );
        assert_eq!(next(AwaitingSeller, Withdraw, &[System]), None);
        assert_eq!(
            next(Filed, Withdraw, &[System]),
            Some(Withdrawn),
            "never confirmed"
        );
    }

    #[test]
    fn possible_moves_are_listed_per_role() {
        assert_eq!(
            possible(UnderReview, &[Officer]),
            vec![RequestInformation, Decide, RecordSettlement]
        );
        assert_eq!(
            possible(SellerResponded, &[Buyer]),
            vec![Accept, Escalate, Withdraw]
        );
        assert!(possible(Closed, &[Buyer, Seller, Officer, Supervisor, System]).is_empty());
        for status in ALL_STATUSES {
            assert_eq!(Status::parse(status.as_str()), Some(*status));
        }
    }
}
