//! Digests: each subscription gets its site's figures of the last complete
//! week (Monday to Sunday) or month on the site's calendar, once, by
//! e-mail. A round looks for subscriptions whose last period sent is not
//! the last complete one and sends them: [`gather`] reads the figures,
//! [`render`] writes the text and HTML, [`chart`] draws the images. A
//! failed send is kept with the subscription and tried again next round,
//! so a mail server that is down for an hour delays a digest, never loses
//! it. Rounds run with the alerts', in their turn, so that of the Sonde
//! processes sharing a store one sends.

pub mod chart;
pub mod gather;
pub mod render;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use sonde_protocol::Granularity;
use sonde_protocol::digest::Frequency;

use crate::mail::{MailError, Mailer};
use crate::reports::buckets::{Bucket, buckets};
use crate::site::{Site, Sites};
use crate::store::digests::StoredDigest;
use crate::store::{StoreError, Stores};

/// Why a digest was not sent.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chart(#[from] chart::ChartError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("the digest's site {0:?} no longer exists")]
    UnknownSite(String),
}

/// What sending needs besides the stores.
#[derive(Clone, Debug)]
pub struct Postbox {
    pub mailer: Option<Mailer>,
    /// The dashboard's address, for the links (`https://sonde.example`).
    pub dashboard: String,
    pub min_group_size: u64,
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundOutcome {
    pub sent: usize,
    pub failed: usize,
}

/// The last week (from Monday) or month wholly before `now` on
/// `timezone`'s calendar.
pub fn last_complete(frequency: Frequency, now: i64, timezone: chrono_tz::Tz) -> Option<Bucket> {
    let granularity = match frequency {
        Frequency::Weekly => Granularity::Week,
        Frequency::Monthly => Granularity::Month,
    };
    let current = buckets(now, now + 1, granularity, timezone)
        .into_iter()
        .next()?;
    buckets(current.start - 1, current.start, granularity, timezone)
        .into_iter()
        .next()
}

/// Sends every subscription its last complete period, where it has not
/// had it yet. Callers hold the alerts' turn.
pub async fn round(
    stores: &Stores,
    sites: &Sites,
    postbox: &Postbox,
    now: i64,
) -> Result<RoundOutcome, StoreError> {
    let digests = std::sync::Arc::clone(&stores.digests);
    let all = tokio::task::spawn_blocking(move || digests.all_digests())
        .await
        .map_err(|e| StoreError::Unavailable(format!("the digests stopped: {e}")))??;
    let mut outcome = RoundOutcome::default();
    for digest in all {
        let Some(site) = sites.get(&digest.digest.site) else {
            continue;
        };
        let Some(period) = last_complete(digest.digest.frequency, now, site.timezone) else {
            continue;
        };
        if digest.digest.last_period.as_deref() == Some(period.local.as_str()) {
            continue;
        }
        match send(stores, &site, digest, &period, postbox, now).await {
            Ok(_) => outcome.sent += 1,
            Err(DigestError::Store(e)) => return Err(e),
            Err(_) => outcome.failed += 1,
        }
    }
    Ok(outcome)
}

/// Sends `digest` the figures of `period` and keeps the outcome with it:
/// the period sent, or why it was not.
pub async fn send(
    stores: &Stores,
    site: &Site,
    mut digest: StoredDigest,
    period: &Bucket,
    postbox: &Postbox,
    now: i64,
) -> Result<StoredDigest, DigestError> {
    let result = compose_and_send(stores, site, &digest, period, postbox).await;
    match &result {
        Ok(()) => {
            digest.digest.last_period = Some(period.local.clone());
            digest.digest.last_sent_at = Some(now);
            digest.digest.last_error = None;
        }
        Err(DigestError::Store(_)) => {}
        Err(e) => {
            tracing::warn!(digest = %digest.digest.id, site = %digest.digest.site, error = %e, "a digest was not sent");
            digest.digest.last_error = Some(e.to_string());
        }
    }
    let kept = digest.clone();
    let store = std::sync::Arc::clone(&stores.digests);
    tokio::task::spawn_blocking(move || store.put_digest(&kept))
        .await
        .map_err(|e| StoreError::Unavailable(format!("the digests stopped: {e}")))??;
    result.map(|()| digest)
}

async fn compose_and_send(
    stores: &Stores,
    site: &Site,
    digest: &StoredDigest,
    period: &Bucket,
    postbox: &Postbox,
) -> Result<(), DigestError> {
    let mailer = postbox.mailer.as_ref().ok_or(MailError::NoMailServer)?;
    let figures = {
        let (stores, site, period, k) = (
            stores.clone(),
            site.clone(),
            period.clone(),
            postbox.min_group_size,
        );
        tokio::task::spawn_blocking(move || {
            gather::gather(
                stores.reports.as_ref(),
                stores.saved.as_ref(),
                &site,
                &period,
                k,
            )
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("the digests stopped: {e}")))??
    };
    let frequency = digest.digest.frequency;
    let dashboard = postbox.dashboard.trim_end_matches('/');
    // The dashboard shows the same days: `?range=FIRST..LAST`.
    let last_day = chrono::DateTime::from_timestamp_millis(period.stop - 1)
        .map(|t| t.with_timezone(&site.timezone).date_naive().to_string())
        .unwrap_or_default();
    let first_day = period.local.get(..10).unwrap_or(&period.local);
    let range = format!("{first_day}..{last_day}");
    let links = render::Links {
        dashboard: format!("{dashboard}/?range={range}&site={}", figures.site_key),
        unsubscribe: unsubscribe_link(dashboard, &digest.token),
    };
    let written = render::render(&figures, frequency, &links);
    let visitors: Vec<u64> = figures.days.iter().map(|d| d.visitors).collect();
    let before: Vec<u64> = figures.days.iter().map(|d| d.previous_visitors).collect();
    let errors: Vec<u64> = figures.days.iter().map(|d| d.errors).collect();
    let png = ContentType::parse("image/png").expect("a media type");
    let mut related = MultiPart::related()
        .singlepart(SinglePart::html(written.html))
        .singlepart(
            Attachment::new_inline(render::VISITORS_CHART.to_owned())
                .body(chart::bars_against_before(&visitors, &before)?, png.clone()),
        );
    if figures.errors.count > 0 {
        related = related.singlepart(
            Attachment::new_inline(render::ERRORS_CHART.to_owned())
                .body(chart::bars_against_before(&errors, &[])?, png),
        );
    }
    let message = mailer
        .builder(&digest.digest.email)?
        .subject(written.subject)
        .header(ListUnsubscribe(format!("<{}>", links.unsubscribe)))
        .header(ListUnsubscribePost)
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(written.text))
                .multipart(related),
        )
        .map_err(|e| MailError::Unwritable(e.to_string()))?;
    mailer.send(message).await?;
    Ok(())
}

/// The page that unsubscribes without signing in.
pub fn unsubscribe_link(dashboard: &str, token: &str) -> String {
    format!(
        "{}/digests/unsubscribe?token={token}",
        dashboard.trim_end_matches('/')
    )
}

/// `List-Unsubscribe` (RFC 2369): mail clients show their own button.
#[derive(Clone, Debug)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post` (RFC 8058): the client's button unsubscribes
/// with one POST, without opening a page.
#[derive(Clone, Debug)]
struct ListUnsubscribePost;

impl lettre::message::header::Header for ListUnsubscribePost {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(
            Self::name(),
            "List-Unsubscribe=One-Click".to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_weekly_digest_covers_monday_to_sunday_before_this_week() {
        let tz = chrono_tz::Europe::Paris;
        // Friday 4 December 2026, 15:00 in Paris.
        let week = last_complete(Frequency::Weekly, at("2026-12-04T14:00:00Z"), tz).unwrap();
        assert_eq!(week.local, "2026-11-23");
        assert_eq!(week.start, at("2026-11-22T23:00:00Z"));
        assert_eq!(week.stop - week.start, 7 * DAY);
        // Monday 00:30 in Paris is still Sunday in UTC: the week just ended.
        let monday = last_complete(Frequency::Weekly, at("2026-11-29T23:30:00Z"), tz).unwrap();
        assert_eq!(monday.local, "2026-11-23");
        let before = last_complete(Frequency::Weekly, at("2026-11-29T22:30:00Z"), tz).unwrap();
        assert_eq!(before.local, "2026-11-16", "Sunday 23:30 in Paris");
    }

    #[test]
    fn a_monthly_digest_covers_the_month_before_on_the_sites_calendar() {
        let tz = chrono_tz::America::New_York;
        let november = last_complete(Frequency::Monthly, at("2026-12-04T14:00:00Z"), tz).unwrap();
        assert_eq!(november.local, "2026-11-01");
        assert_eq!(november.start, at("2026-11-01T04:00:00Z"));
        // Daylight saving ended on 1 November: 30 days and an hour.
        assert_eq!(november.stop, at("2026-12-01T05:00:00Z"));
        let january = last_complete(Frequency::Monthly, at("2027-02-01T04:59:00Z"), tz).unwrap();
        assert_eq!(january.local, "2026-12-01", "still 31 January in New York");
    }

    #[test]
    fn the_unsubscribe_link_is_on_the_dashboards_address() {
        assert_eq!(
            unsubscribe_link("https://sonde.example/", "t0k3n"),
            "https://sonde.example/digests/unsubscribe?token=t0k3n"
        );
    }
}
