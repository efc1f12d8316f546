//! Telling people: an alert's message to a webhook (JSON, signed), to
//! Slack (its incoming-webhook body) and by e-mail (over SMTP).

use std::time::Duration;

use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use sha2::Sha256;
use sonde_protocol::alert::{AlertEvent, AlertMessage, Channel};

use crate::mail::{MailError, Mailer};

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a notification did not go out; kept with the firing.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the receiver answered {0}")]
    Refused(reqwest::StatusCode),
    #[error("cannot reach the receiver: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// What delivers notifications: an HTTP client and, when configured, the
/// mail server.
#[derive(Clone, Debug)]
pub struct Notifier {
    http: reqwest::Client,
    mail: Option<Mailer>,
}

impl Notifier {
    pub fn new(mail: Option<Mailer>) -> Notifier {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("Sonde/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with a timeout");
        Notifier { http, mail }
    }

    pub fn mailer(&self) -> Option<&Mailer> {
        self.mail.as_ref()
    }

    /// Sends `message` to `channel`, a webhook's body signed with `secret`.
    pub async fn deliver(
        &self,
        channel: &Channel,
        message: &AlertMessage,
        secret: &str,
        now_s: i64,
    ) -> Result<(), DeliveryError> {
        match channel {
            Channel::Webhook { url } => {
                let body = serde_json::to_vec(message).expect("a message serializes");
                let response = self
                    .http
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("Sonde-Signature", signature(secret, now_s, &body))
                    .body(body)
                    .send()
                    .await?;
                accepted(response)
            }
            Channel::Slack { url } => {
                let response = self
                    .http
                    .post(url)
                    .json(&serde_json::json!({ "text": slack_text(message) }))
                    .send()
                    .await?;
                accepted(response)
            }
            Channel::Email { to } => {
                let mailer = self.mail.as_ref().ok_or(MailError::NoMailServer)?;
                let email = mailer
                    .builder(to)?
                    .subject(subject(message))
                    .header(ContentType::TEXT_PLAIN)
                    .body(plain_text(message))
                    .map_err(|e| MailError::Unwritable(e.to_string()))?;
                Ok(mailer.send(email).await?)
            }
        }
    }
}

fn accepted(response: reqwest::Response) -> Result<(), DeliveryError> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Refused(response.status()))
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the time is
/// signed too, so a receiver can refuse a replayed old message.
pub fn signature(secret: &str, now_s: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(now_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={now_s},v1={hex}")
}

fn verb(event: AlertEvent) -> &'static str {
    match event {
        AlertEvent::Fired => "fired",
        AlertEvent::Resolved => "resolved",
    }
}

/// `[Sonde] shop: Traffic fired`.
pub fn subject(m: &AlertMessage) -> String {
    format!("[Sonde] {}: {} {}", m.site, m.rule_name, verb(m.event))
}

pub fn plain_text(m: &AlertMessage) -> String {
    format!(
        "{}\n\n{}\n\nWatching: {}\nOpen in Sonde: {}\n",
        subject(m),
        m.evidence.summary,
        m.condition.describe(),
        m.evidence.link
    )
}

fn slack_text(m: &AlertMessage) -> String {
    let mark = match m.event {
        AlertEvent::Fired => ":rotating_light:",
        AlertEvent::Resolved => ":white_check_mark:",
    };
    format!(
        "{mark} *{}* {} on {}\n{}\n<{}|Open in Sonde>",
        m.rule_name,
        verb(m.event),
        m.site,
        m.evidence.summary,
        m.evidence.link
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_an_hmac_of_the_time_and_the_body() {
        // As computed independently:
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            signature("key", 1_700_000_000, b"{}"),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
