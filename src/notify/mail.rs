//! Sending mail: SMTP for real deployments, `.eml` files in a folder for the zero-config
//! run and for looking at what would have been sent.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::config::{MailConfig, MailTransportKind, SmtpSecurity};

/// A message ready to send, as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Where mail goes.
#[derive(Clone)]
pub enum MailTransport {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MailTransport::File(_) => "MailTransport::File",
            MailTransport::Smtp(_) => "MailTransport::Smtp",
        })
    }
}

impl MailTransport {
    pub fn from_config(config: &MailConfig) -> Result<Self, String> {
        match config.transport {
            MailTransportKind::File => {
                std::fs::create_dir_all(&config.outbox_dir).map_err(|e| {
                    format!("cannot create mail.outbox_dir {}: {e}", config.outbox_dir)
                })?;
                Ok(MailTransport::File(AsyncFileTransport::new(
                    &config.outbox_dir,
                )))
            }
            MailTransportKind::Smtp => {
                let host = config.smtp_host.as_str();
                let tls = || {
                    TlsParameters::new(host.to_string())
                        .map_err(|e| format!("mail.smtp_host {host}: {e}"))
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(config.smtp_port)
                    .timeout(Some(Duration::from_secs(u64::from(
                        config.smtp_timeout_secs,
                    ))));
                builder = match config.smtp_security {
                    SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
                    SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
                    SmtpSecurity::None => builder.tls(Tls::None),
                };
                if let (Some(user), Some(password)) = (&config.smtp_username, &config.smtp_password)
                {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Ok(MailTransport::Smtp(builder.build()))
            }
        }
    }

    /// Sends one message. The error says why, for the outbox's `last_error`.
    pub async fn send(&self, from: &Mailbox, mail: &RenderedMail) -> Result<(), String> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| format!("recipient {:?} is not a mailbox: {e}", mail.to))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| format!("cannot build message: {e}"))?;
        match self {
            MailTransport::File(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            MailTransport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}
