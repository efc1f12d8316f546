//! Alerts: every few minutes, the rules of every site are evaluated
//! ([`evaluate`]) and each subject's state moved on by
//! [`crate::reports::alerts::transition`]: a firing is stored when a
//! subject becomes unusual and resolved when it is usual again, once each;
//! then every notification not delivered yet is sent ([`notify`]) and the
//! outcome kept with its firing, retried in the next rounds until it is
//! accepted or has failed [`MAX_ATTEMPTS`] times.
//!
//! Of the Sonde processes sharing a store, one at a time evaluates (the
//! store's turn, [`crate::store::AlertStore::take_alert_turn`]); in the
//! same turn it sends the digests that are due ([`crate::digests`]).

pub mod evaluate;
pub mod notify;

use std::sync::Arc;
use std::time::Duration;

use sonde_protocol::alert::{AlertEvent, AlertFiring, AlertMessage, Delivery, SavedAlertRule};

use self::evaluate::{Observation, Sources};
use self::notify::Notifier;
use crate::digests::{self, Postbox};
use crate::reports::alerts::{Transition, transition};
use crate::site::Sites;
use crate::store::{StoreError, Stores};

/// A notification is given up after this many failed attempts (an hour of
/// rounds at the default interval).
pub const MAX_ATTEMPTS: u32 = 12;

/// How the alerts run.
#[derive(Clone, Debug)]
pub struct AlertSettings {
    /// Time between two rounds.
    pub interval: Duration,
    /// The dashboard's address, for links.
    pub dashboard: String,
    /// Breakdown rows need this many visitors.
    pub min_group_size: u64,
    /// This process, for the turn.
    pub process: String,
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundOutcome {
    pub fired: usize,
    pub resolved: usize,
    pub delivered: usize,
    pub failed: usize,
    pub digests: digests::RoundOutcome,
}

/// Runs a round now and then every `settings.interval` while the server
/// runs.
pub fn run_periodically(
    stores: Stores,
    sites: Arc<Sites>,
    notifier: Notifier,
    postbox: Postbox,
    settings: AlertSettings,
) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(settings.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now = chrono::Utc::now().timestamp_millis();
            match round(&stores, &sites, (&notifier, &postbox), &settings, now).await {
                Ok(outcome) if outcome != RoundOutcome::default() => {
                    tracing::info!(?outcome, "alerts evaluated");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "the alerts could not be evaluated"),
            }
        }
    });
}

/// One round at `now`: evaluate (when it is this process's turn), then
/// deliver, then send the digests due.
pub async fn round(
    stores: &Stores,
    sites: &Arc<Sites>,
    (notifier, postbox): (&Notifier, &Postbox),
    settings: &AlertSettings,
    now: i64,
) -> Result<RoundOutcome, StoreError> {
    let lease = 2 * settings.interval.as_millis() as i64 + 60_000;
    let (stores_, sites_, settings_) = (stores.clone(), Arc::clone(sites), settings.clone());
    let evaluated = tokio::task::spawn_blocking(move || {
        if !stores_
            .alerts
            .take_alert_turn(&settings_.process, now, lease)?
        {
            return Ok(None);
        }
        evaluate_all(&stores_, &sites_, &settings_, now).map(Some)
    })
    .await
    .map_err(|e| StoreError::Unavailable(format!("the evaluation stopped: {e}")))??;
    let Some(mut outcome) = evaluated else {
        return Ok(RoundOutcome::default());
    };
    let (delivered, failed) = deliver_pending(stores, notifier, now).await?;
    outcome.delivered = delivered;
    outcome.failed = failed;
    outcome.digests = digests::round(stores, sites, postbox, now).await?;
    Ok(outcome)
}

fn evaluate_all(
    stores: &Stores,
    sites: &Sites,
    settings: &AlertSettings,
    now: i64,
) -> Result<RoundOutcome, StoreError> {
    let mut outcome = RoundOutcome::default();
    let sources = Sources {
        reports: stores.reports.as_ref(),
        saved: stores.saved.as_ref(),
        min_group_size: settings.min_group_size,
        dashboard: &settings.dashboard,
    };
    for rule in stores.alerts.all_alert_rules()? {
        let Some(site) = sites.get(&rule.site) else {
            continue;
        };
        let open = stores.alerts.open_firings(&rule.id)?;
        let subjects: Vec<String> = open.iter().map(|f| f.subject.clone()).collect();
        let observations = match evaluate::observe(sources, &site, &rule, &subjects, now) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(rule = %rule.id, site = %rule.site, error = %e, "an alert rule could not be evaluated");
                continue;
            }
        };
        for observation in observations {
            let firing = open.iter().find(|f| f.subject == observation.subject);
            match (transition(firing.is_some(), observation.unusual), firing) {
                (Transition::Fire, _) => {
                    stores.alerts.put_firing(&fire(&rule, observation, now))?;
                    outcome.fired += 1;
                }
                (Transition::Resolve, Some(firing)) => {
                    stores
                        .alerts
                        .put_firing(&resolve(&rule, firing.clone(), observation, now))?;
                    outcome.resolved += 1;
                }
                _ => {}
            }
        }
    }
    Ok(outcome)
}

fn deliveries(rule: &SavedAlertRule, event: AlertEvent) -> impl Iterator<Item = Delivery> + '_ {
    (0..rule.rule.channels.len()).map(move |channel| Delivery {
        channel,
        event,
        attempts: 0,
        delivered_at: None,
        error: None,
        abandoned: false,
    })
}

fn fire(rule: &SavedAlertRule, observation: Observation, now: i64) -> AlertFiring {
    AlertFiring {
        id: crate::token::random_token()[..16].to_owned(),
        site: rule.site.clone(),
        rule: rule.id.clone(),
        rule_name: rule.rule.name.clone(),
        subject: observation.subject,
        fired_at: now,
        evidence: observation.evidence,
        resolved_at: None,
        resolved_evidence: None,
        deliveries: deliveries(rule, AlertEvent::Fired).collect(),
    }
}

fn resolve(
    rule: &SavedAlertRule,
    mut firing: AlertFiring,
    observation: Observation,
    now: i64,
) -> AlertFiring {
    firing.resolved_at = Some(now);
    firing.resolved_evidence = Some(observation.evidence);
    // A firing not told yet need not be told it resolved either: people
    // hear of both, in order, or of neither.
    firing
        .deliveries
        .extend(deliveries(rule, AlertEvent::Resolved));
    firing
}

/// What a notification of `firing` says.
pub fn message(rule: &SavedAlertRule, firing: &AlertFiring, event: AlertEvent) -> AlertMessage {
    let evidence = match event {
        AlertEvent::Resolved => firing.resolved_evidence.clone(),
        AlertEvent::Fired => None,
    };
    AlertMessage {
        event,
        site: firing.site.clone(),
        rule: firing.rule.clone(),
        rule_name: firing.rule_name.clone(),
        condition: rule.rule.condition.clone(),
        firing: firing.id.clone(),
        subject: firing.subject.clone(),
        evidence: evidence.unwrap_or_else(|| firing.evidence.clone()),
        fired_at: firing.fired_at,
        resolved_at: firing.resolved_at,
    }
}

/// Tries every pending notification once; says how many went out and how
/// many failed.
async fn deliver_pending(
    stores: &Stores,
    notifier: &Notifier,
    now: i64,
) -> Result<(usize, usize), StoreError> {
    let alerts = Arc::clone(&stores.alerts);
    let pending = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
        let mut out = Vec::new();
        for firing in alerts.undelivered_firings()? {
            let rule = alerts.alert_rule(&firing.rule)?;
            out.push((firing, rule));
        }
        Ok(out)
    })
    .await
    .map_err(|e| StoreError::Unavailable(format!("the delivery stopped: {e}")))??;
    let (mut delivered, mut failed) = (0, 0);
    for (mut firing, rule) in pending {
        for i in 0..firing.deliveries.len() {
            let d = &firing.deliveries[i];
            if !d.pending() {
                continue;
            }
            // The fired notice goes first: a resolution waits for it.
            if d.event == AlertEvent::Resolved
                && firing
                    .deliveries
                    .iter()
                    .any(|f| f.channel == d.channel && f.event == AlertEvent::Fired && f.pending())
            {
                continue;
            }
            let channel = rule.as_ref().and_then(|r| r.rule.channels.get(d.channel));
            let (Some(rule), Some(channel)) = (rule.as_ref(), channel) else {
                // The rule was removed or changed: nowhere to send it.
                let d = &mut firing.deliveries[i];
                d.abandoned = true;
                d.error = Some("the rule no longer has this channel".into());
                continue;
            };
            let secret = rule.secret.as_deref().unwrap_or_default();
            let result = notifier
                .deliver(
                    channel,
                    &message(rule, &firing, d.event),
                    secret,
                    now / 1000,
                )
                .await;
            let d = &mut firing.deliveries[i];
            d.attempts += 1;
            match result {
                Ok(()) => {
                    d.delivered_at = Some(now);
                    d.error = None;
                    delivered += 1;
                }
                Err(e) => {
                    tracing::warn!(firing = %firing.id, channel = d.channel, error = %e, "an alert was not delivered");
                    d.error = Some(e.to_string());
                    d.abandoned = d.attempts >= MAX_ATTEMPTS;
                    failed += 1;
                }
            }
        }
        let alerts = Arc::clone(&stores.alerts);
        tokio::task::spawn_blocking(move || alerts.put_firing(&firing))
            .await
            .map_err(|e| StoreError::Unavailable(format!("the delivery stopped: {e}")))??;
    }
    Ok((delivered, failed))
}
