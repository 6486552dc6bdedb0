//! Mail messages, rendered from `templates/email/`: for each message a text and an HTML
//! template holding both languages. The text template's first line is `Subject: …`.

use askama::Template;

use super::mail::RenderedMail;
use super::preferences::MailCategory;
use crate::i18n::catalogue::Phrase;
use crate::i18n::{Language, label, lookup};

/// A message that can be rendered for a recipient.
pub trait Mail {
    /// (text, html); the text starts with the subject line.
    fn render_parts(&self) -> Result<(String, String), askama::Error>;

    /// Whether the recipient may have silenced it.
    fn category(&self) -> MailCategory;

    fn render_for(&self, to: &str) -> Result<RenderedMail, askama::Error> {
        let (text, html) = self.render_parts()?;
        let (first, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        let subject = first
            .strip_prefix("Subject: ")
            .unwrap_or(first)
            .trim()
            .to_string();
        Ok(RenderedMail {
            to: to.to_string(),
            subject,
            text: body.trim_start_matches('\n').to_string(),
            html,
        })
    }
}

/// Generates the text and HTML templates of a message and its [`Mail`] impl.
macro_rules! mail_templates {
    ($message:ident, $text:literal, $html:literal, $category:expr) => {
        const _: () = {
            #[derive(Template)]
            #[template(path = $text, escape = "none")]
            struct Text<'a> {
                m: &'a $message,
            }

            #[derive(Template)]
            #[template(path = $html)]
            struct Html<'a> {
                m: &'a $message,
            }

            impl Mail for $message {
                fn render_parts(&self) -> Result<(String, String), askama::Error> {
                    Ok((Text { m: self }.render()?, Html { m: self }.render()?))
                }

                fn category(&self) -> MailCategory {
                    let of: fn(&$message) -> MailCategory = $category;
                    of(self)
                }
            }
        };
    };
}

/// Sent after registration: confirm the address.
#[derive(Debug, Clone)]
pub struct VerifyEmail {
    pub lang: Language,
    pub link: String,
    pub valid_hours: u32,
}
mail_templates!(
    VerifyEmail,
    "email/verify_email.txt",
    "email/verify_email.html",
    |_| MailCategory::AccountSecurity
);

/// Sent when someone registers with an address that already has an account (instead of
/// telling the person registering, which would reveal who has an account).
#[derive(Debug, Clone)]
pub struct AccountExists {
    pub lang: Language,
    pub reset_link: String,
}
mail_templates!(
    AccountExists,
    "email/account_exists.txt",
    "email/account_exists.html",
    |_| MailCategory::AccountSecurity
);

/// Sent when someone registers with the address of an account that was closed and is
/// not yet pseudonymised: the address is still that account's, and the mail says until
/// when, truthfully, to the mailbox only (the person registering is answered as always).
#[derive(Debug, Clone)]
pub struct AccountClosedExists {
    pub lang: Language,
    /// Day it was closed, `dd/mm/yyyy` in Vietnam's time.
    pub closed_on: String,
    /// Day from which its personal data is erased and the address is free, `dd/mm/yyyy`.
    pub erased_on: String,
}
mail_templates!(
    AccountClosedExists,
    "email/account_closed_exists.txt",
    "email/account_closed_exists.html",
    |_| MailCategory::AccountSecurity
);

impl AccountClosedExists {
    /// The sentence `mail.closed_account_{part}` in the recipient's language, with the dates.
    pub fn say(&self, part: &str) -> String {
        crate::i18n::catalogue::format(
            "mail",
            &format!("closed_account_{part}"),
            &[&self.closed_on, &self.erased_on],
            self.lang,
        )
    }
}

/// A password reset link.
#[derive(Debug, Clone)]
pub struct PasswordReset {
    pub lang: Language,
    pub link: String,
    pub valid_minutes: u32,
}
mail_templates!(
    PasswordReset,
    "email/password_reset.txt",
    "email/password_reset.html",
    |_| MailCategory::AccountSecurity
);

/// Notice that the password was changed, in case it was not the owner.
#[derive(Debug, Clone)]
pub struct PasswordChanged {
    pub lang: Language,
    /// When, in Vietnam's time zone.
    pub when: String,
    pub reset_link: String,
}
mail_templates!(
    PasswordChanged,
    "email/password_changed.txt",
    "email/password_changed.html",
    |_| MailCategory::AccountSecurity
);

/// An officer's invitation to set a password.
#[derive(Debug, Clone)]
pub struct OfficerInvitation {
    pub lang: Language,
    pub link: String,
    pub role: String,
    pub provinces: String,
    pub valid_hours: u32,
}
impl OfficerInvitation {
    /// The role in the reader's words (`role.officer`, `role.supervisor`, …).
    pub fn role_words(&self) -> String {
        label("role", &self.role, self.lang)
    }
}
mail_templates!(
    OfficerInvitation,
    "email/officer_invitation.txt",
    "email/officer_invitation.html",
    |_| MailCategory::AccountSecurity
);

/// A seller was suspended because the business register changed.
#[derive(Debug, Clone)]
pub struct SellerSuspended {
    pub lang: Language,
    pub business: String,
    /// Machine code of the reason (`business_dissolved`, …).
    pub reason: String,
}
impl SellerSuspended {
    /// Why, in the reader's words (`reason.business_dissolved`, …).
    pub fn reason_words(&self) -> String {
        label("reason", &self.reason, self.lang)
    }
}
mail_templates!(
    SellerSuspended,
    "email/seller_suspended.txt",
    "email/seller_suspended.html",
    |_| MailCategory::SellerStanding
);

/// A seller's verification ends soon.
#[derive(Debug, Clone)]
pub struct VerificationExpiring {
    pub lang: Language,
    /// Day it ends, `dd/mm/yyyy`.
    pub expires_on: String,
    pub link: String,
}
mail_templates!(
    VerificationExpiring,
    "email/verification_expiring.txt",
    "email/verification_expiring.html",
    |_| MailCategory::SellerStanding
);

/// A buyer who filed directly confirms their address (and gets the link to follow the case).
#[derive(Debug, Clone)]
pub struct DisputeConfirm {
    pub lang: Language,
    pub reference: String,
    pub link: String,
    pub valid_hours: u32,
}
mail_templates!(
    DisputeConfirm,
    "email/dispute_confirm.txt",
    "email/dispute_confirm.html",
    |_| MailCategory::AccountSecurity
);

/// The one mail a consumer gets for a complaint from the public pages: its reference,
/// what was received, and what happens next. When the complaint opened a case, the same
/// mail carries the link that confirms the address (no separate confirmation mail).
#[derive(Debug, Clone)]
pub struct ComplaintReceived {
    pub lang: Language,
    /// `PA-2026-…`.
    pub reference: String,
    /// The code as the consumer typed or scanned it, if any.
    pub code: Option<String>,
    /// The kind of problem, in the reader's language.
    pub kind: String,
    /// When it was received, in Vietnam's time (`dd/mm/yyyy HH:MM`).
    pub received: String,
    /// The page with the reference: `/report/received/{reference}`.
    pub follow_link: String,
    /// The case opened for the seller to answer, when the shop was traced.
    pub case: Option<ComplaintCase>,
}

/// A case a complaint opened, as its receipt tells it.
#[derive(Debug, Clone)]
pub struct ComplaintCase {
    /// `DSP-2026-…`.
    pub reference: String,
    /// The buyer's link: confirms the address, then follows the case.
    pub link: String,
    pub valid_hours: u32,
}

impl ComplaintReceived {
    /// A sentence of the receipt from the catalogue (`receipt.{code}`), in the reader's
    /// language.
    pub fn say(&self, code: &str) -> String {
        label("receipt", code, self.lang)
    }

    pub fn subject(&self) -> String {
        crate::i18n::catalogue::format("receipt", "subject", &[&self.reference], self.lang)
    }

    pub fn intro(&self) -> String {
        crate::i18n::catalogue::format("receipt", "intro", &[&self.reference], self.lang)
    }

    /// What the case means for the consumer, when one was opened.
    pub fn case_opened(&self) -> Option<String> {
        self.case.as_ref().map(|c| {
            crate::i18n::catalogue::format(
                "receipt",
                "case_opened",
                &[&c.reference, &c.valid_hours.to_string()],
                self.lang,
            )
        })
    }
}
mail_templates!(
    ComplaintReceived,
    "email/complaint_received.txt",
    "email/complaint_received.html",
    // A receipt of what the consumer filed, and the case's confirmation when one opened.
    |_| MailCategory::CaseProceedings
);

/// A step of a dispute, told to one party (or to officers).
#[derive(Debug, Clone)]
pub struct DisputeUpdate {
    pub lang: Language,
    pub reference: String,
    /// What happened: `filed`, `responded`, `escalated`, `information_requested`,
    /// `information_supplied`, `decided`, `appealed`, `appeal_decided`, `closed`,
    /// `withdrawn`, `settled`, `reminder`, `overdue`.
    pub step: &'static str,
    /// `buyer`, `seller` or `officer`.
    pub to: &'static str,
    /// The other side's words, the question asked, or the decision.
    pub note: Option<MailNote>,
    /// The recipient's next deadline, in Vietnam's time (`dd/mm/yyyy HH:MM`).
    pub deadline: Option<String>,
    pub link: String,
}
mail_templates!(
    DisputeUpdate,
    "email/dispute_update.txt",
    "email/dispute_update.html",
    |m| MailCategory::of_dispute_step(m.step, m.to)
);

/// What a party is told beside the headline, put in words in the recipient's language.
#[derive(Debug, Clone)]
pub enum MailNote {
    /// Someone's own words (a question, a settlement), shown as written.
    Words(String),
    /// The seller's answer and what they offer (a claim code).
    Answer {
        statement: String,
        offer: Option<String>,
    },
    /// A decision: outcome code, statement of reasons, sanctions applied.
    Decision {
        outcome: String,
        statement: String,
        sanctions: Vec<Phrase>,
    },
}

impl MailNote {
    pub fn words(&self, lang: Language) -> String {
        match self {
            MailNote::Words(text) => text.clone(),
            MailNote::Answer { statement, offer } => match offer {
                Some(o) => format!(
                    "{statement}\n{}: {}",
                    lookup("mail.offer", lang).unwrap_or_default(),
                    label("offer", o, lang)
                ),
                None => statement.clone(),
            },
            MailNote::Decision {
                outcome,
                statement,
                sanctions,
            } => {
                let mut text = format!(
                    "{}: {}\n{statement}",
                    lookup("mail.outcome", lang).unwrap_or_default(),
                    label("outcome", outcome, lang)
                );
                if !sanctions.is_empty() {
                    let lines: Vec<String> = sanctions.iter().map(|p| p.words(lang)).collect();
                    text.push_str(&format!(
                        "\n{}: {}",
                        lookup("mail.sanctions", lang).unwrap_or_default(),
                        lines.join("; ")
                    ));
                }
                text
            }
        }
    }
}

impl DisputeUpdate {
    /// The note in the recipient's language.
    pub fn note_text(&self) -> Option<String> {
        self.note.as_ref().map(|n| n.words(self.lang))
    }

    /// One line saying what happened, for this recipient, in their language.
    pub fn headline(&self) -> &'static str {
        let vi = self.lang.is_vi();
        match (self.step, self.to) {
            ("filed", "seller") => {
                if vi {
                    "một người mua đã khiếu nại về sản phẩm của bạn; hãy trả lời trước hạn"
                } else {
                    "a buyer filed a complaint about your listing; answer it before the deadline"
                }
            }
            ("filed", _) => {
                if vi {
                    "khiếu nại của bạn đã được chuyển đến người bán"
                } else {
                    "your complaint was sent to the seller"
                }
            }
            ("responded", "buyer") => {
                if vi {
                    "người bán đã trả lời; hãy chấp nhận hoặc chuyển lên Sở Công Thương"
                } else {
                    "the seller answered; accept the answer or send the case to the Department"
                }
            }
            ("responded", _) => {
                if vi {
                    "câu trả lời của bạn đã được gửi đến người mua"
                } else {
                    "your answer was sent to the buyer"
                }
            }
            ("escalated", "officer") => {
                if vi {
                    "một khiếu nại đã được chuyển đến cán bộ"
                } else {
                    "a case was sent to officers"
                }
            }
            ("escalated", _) => {
                if vi {
                    "khiếu nại đã được chuyển đến cán bộ Sở Công Thương xem xét"
                } else {
                    "the case is now with an officer of the Department of Industry and Trade"
                }
            }
            ("information_requested", _) => {
                if vi {
                    "cán bộ cần thêm thông tin từ bạn"
                } else {
                    "the officer needs more information from you"
                }
            }
            ("information_supplied", _) => {
                if vi {
                    "thông tin bổ sung đã được gửi; cán bộ tiếp tục xem xét"
                } else {
                    "the information asked for was supplied; the review goes on"
                }
            }
            ("decided", _) => {
                if vi {
                    "cán bộ đã ra quyết định"
                } else {
                    "the officer decided the case"
                }
            }
            ("appealed", _) => {
                if vi {
                    "quyết định đang bị khiếu nại lên cấp trên"
                } else {
                    "the decision was appealed to a supervisor"
                }
            }
            ("appeal_decided", _) => {
                if vi {
                    "đã có quyết định phúc thẩm"
                } else {
                    "the appeal was decided"
                }
            }
            ("closed", _) => {
                if vi {
                    "khiếu nại đã đóng"
                } else {
                    "the case is closed"
                }
            }
            ("withdrawn", _) => {
                if vi {
                    "khiếu nại đã được rút"
                } else {
                    "the complaint was withdrawn"
                }
            }
            ("settled", _) => {
                if vi {
                    "hai bên đã thỏa thuận; khiếu nại kết thúc"
                } else {
                    "the parties agreed; the case is settled"
                }
            }
            ("reminder", _) => {
                if vi {
                    "sắp đến hạn trả lời khiếu nại"
                } else {
                    "your answer to a complaint is due soon"
                }
            }
            ("overdue", _) => {
                if vi {
                    "khiếu nại đã quá hạn giải quyết"
                } else {
                    "a case is past its resolution deadline"
                }
            }
            _ => {
                if vi {
                    "khiếu nại có cập nhật mới"
                } else {
                    "there is news on the case"
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closed_account_notice_gives_both_dates_in_each_language() {
        for (lang, word) in [(Language::En, "closed"), (Language::Vi, "đã đóng")] {
            let mail = AccountClosedExists {
                lang,
                closed_on: "01/11/2026".into(),
                erased_on: "01/12/2026".into(),
            }
            .render_for("an@example.vn")
            .expect("renders");
            assert!(mail.subject.contains(word), "{lang:?}: {}", mail.subject);
            for text in [&mail.text, &mail.html] {
                assert!(text.contains("01/11/2026"), "{text}");
                assert!(text.contains("01/12/2026"), "{text}");
                assert!(!text.contains("{0}") && !text.contains("{1}"), "{text}");
                assert!(!text.contains("mail.closed_account"), "{text}");
            }
        }
    }

    #[test]
    fn subject_comes_from_the_first_line_in_each_language() {
        for (lang, word) in [(Language::En, "Confirm"), (Language::Vi, "Xác nhận")] {
            let mail = VerifyEmail {
                lang,
                link: "https://t.example/verify-email?token=abc".into(),
                valid_hours: 48,
            }
            .render_for("an@example.vn")
            .expect("renders");
            assert!(mail.subject.contains(word), "{lang:?}: {}", mail.subject);
            assert!(!mail.text.starts_with("Subject"), "{}", mail.text);
            assert!(
                mail.text
                    .contains("https://t.example/verify-email?token=abc")
            );
            assert!(
                mail.html
                    .contains("https://t.example/verify-email?token=abc")
            );
            assert!(mail.html.contains(&format!("lang=\"{}\"", lang.code())));
        }
    }

    #[test]
    fn account_and_standing_mails_are_never_silenced() {
        let lang = Language::Vi;
        let categories = [
            VerifyEmail {
                lang,
                link: String::new(),
                valid_hours: 1,
            }
            .category(),
            PasswordReset {
                lang,
                link: String::new(),
                valid_minutes: 1,
            }
            .category(),
            PasswordChanged {
                lang,
                when: String::new(),
                reset_link: String::new(),
            }
            .category(),
            SellerSuspended {
                lang,
                business: String::new(),
                reason: String::new(),
            }
            .category(),
            VerificationExpiring {
                lang,
                expires_on: String::new(),
                link: String::new(),
            }
            .category(),
        ];
        assert!(
            categories.iter().all(|c| !c.silenceable()),
            "{categories:?}"
        );
        let update = |step| DisputeUpdate {
            lang,
            reference: String::new(),
            step,
            to: "seller",
            note: None,
            deadline: None,
            link: String::new(),
        };
        assert!(!update("decided").category().silenceable());
        assert!(update("information_supplied").category().silenceable());
    }

    #[test]
    fn html_escapes_what_it_shows() {
        let mail = OfficerInvitation {
            lang: Language::En,
            link: "https://t.example/i?token=a&b=<c>".into(),
            role: "officer".into(),
            provinces: "79".into(),
            valid_hours: 72,
        }
        .render_for("o@moit.gov.vn")
        .expect("renders");
        assert!(
            mail.html.contains("token=a&#38;b=&#60;c&#62;"),
            "{}",
            mail.html
        );
        assert!(mail.text.contains("a&b=<c>"), "text is not escaped");
    }
}
