//! E-mail out of Sonde over SMTP: alerts ([`crate::alerts::notify`]) and
//! digests ([`crate::digests`]) both send through one [`Mailer`].

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long the mail server may take over one message.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why an e-mail did not go out.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("no mail server is configured (--smtp-url)")]
    NoMailServer,
    #[error("the e-mail cannot be written: {0}")]
    Unwritable(String),
    #[error("the mail server refused it: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// Where e-mail goes out, and from whom.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// `smtp://host:port` (STARTTLS when the server offers it with
    /// `?tls=required`), `smtps://user:password@host` (TLS); `from` as
    /// `Sonde <sonde@example.com>`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("--smtp-url {url:?}: {e}"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("--mail-from {from:?}: {e}"))?;
        Ok(Mailer { transport, from })
    }

    /// Sends a message begun with [`Mailer::builder`].
    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        self.transport.send(message).await?;
        Ok(())
    }

    /// A message from Sonde to `to`.
    pub fn builder(&self, to: &str) -> Result<lettre::message::MessageBuilder, MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| MailError::Unwritable(format!("{to:?}: {e}")))?;
        Ok(Message::builder().from(self.from.clone()).to(to))
    }
}
