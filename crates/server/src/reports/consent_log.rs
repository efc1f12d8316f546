//! The consent log export: every consent record of a period as CSV or JSON
//! lines, each chained to the one before by a BLAKE3 hash ([`chain`]), so a
//! changed, removed or inserted line shows when the file is checked
//! ([`verify`], `sonde verify-consent-log FILE`). The chain protects the
//! exported file; the store itself is protected by who may reach it.
//!
//! # What a store provides
//!
//! The consent records of a site decided in a period, each once, ordered
//! by decision time, then consent id, numbered from 1 in that order, with
//! empty hashes: [`chain`] fills them.

use sonde_protocol::consent_report::{CONSENT_LOG_CSV_HEADER, ConsentLogEntry};

/// The first record's `prev_hash`.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn hash_of(entry: &ConsentLogEntry) -> String {
    blake3::hash(entry.chained_text().as_bytes())
        .to_hex()
        .to_string()
}

/// Numbers and chains the entries in their order.
pub fn chain(entries: &mut [ConsentLogEntry]) {
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
        e.prev_hash = prev;
        e.hash = hash_of(e);
        prev = e.hash.clone();
    }
}

/// Why a log does not verify: the first record (1-based) that breaks it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("record {0} does not follow the one before it (removed, inserted or reordered)")]
    Link(usize),
    #[error("record {0} was changed: its hash does not match its content")]
    Content(usize),
}

/// Checks a chained log from its first record.
pub fn verify(entries: &[ConsentLogEntry]) -> Result<(), Broken> {
    let mut prev = GENESIS;
    for (i, e) in entries.iter().enumerate() {
        if e.prev_hash != prev || e.seq != i as u64 + 1 {
            return Err(Broken::Link(i + 1));
        }
        if hash_of(e) != e.hash {
            return Err(Broken::Content(i + 1));
        }
        prev = &e.hash;
    }
    Ok(())
}

/// The log as JSON lines.
pub fn to_jsonl(entries: &[ConsentLogEntry]) -> String {
    entries
        .iter()
        .map(|e| serde_json::to_string(e).expect("a log entry serializes") + "\n")
        .collect()
}

/// The log as CSV (no field holds a comma, a quote or a line break: ids
/// and sites are `[A-Za-z0-9_-]`, the rest are numbers and words).
pub fn to_csv(entries: &[ConsentLogEntry]) -> String {
    let mut out = String::from(CONSENT_LOG_CSV_HEADER);
    out.push_str("\r\n");
    for e in entries {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            e.seq,
            e.site,
            e.consent_id,
            e.decided_at,
            e.policy_version,
            e.source,
            e.gpc,
            e.usage,
            e.errors,
            e.performance,
            e.marketing,
            e.device,
            e.prev_hash,
            e.hash
        ));
    }
    out
}

/// Reads an exported log, CSV or JSON lines (told apart by the header).
pub fn parse(text: &str) -> Result<Vec<ConsentLogEntry>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    if lines
        .peek()
        .is_some_and(|l| l.trim() == CONSENT_LOG_CSV_HEADER)
    {
        lines.next();
        return lines
            .enumerate()
            .map(|(i, line)| {
                parse_csv_line(line).ok_or(format!("line {} is not a log record", i + 2))
            })
            .collect();
    }
    lines
        .enumerate()
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

fn parse_csv_line(line: &str) -> Option<ConsentLogEntry> {
    let f: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
    let [
        seq,
        site,
        id,
        at,
        policy,
        source,
        gpc,
        usage,
        errors,
        perf,
        marketing,
        device,
        prev,
        hash,
    ] = f.as_slice()
    else {
        return None;
    };
    Some(ConsentLogEntry {
        seq: seq.parse().ok()?,
        site: (*site).into(),
        consent_id: (*id).into(),
        decided_at: at.parse().ok()?,
        policy_version: policy.parse().ok()?,
        source: (*source).into(),
        gpc: gpc.parse().ok()?,
        usage: usage.parse().ok()?,
        errors: errors.parse().ok()?,
        performance: perf.parse().ok()?,
        marketing: marketing.parse().ok()?,
        device: (*device).into(),
        prev_hash: (*prev).into(),
        hash: (*hash).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, usage: bool) -> ConsentLogEntry {
        ConsentLogEntry {
            seq: 0,
            site: "shop".into(),
            consent_id: id.into(),
            decided_at: 1_000,
            policy_version: 1,
            source: "banner".into(),
            gpc: false,
            usage,
            errors: false,
            performance: false,
            marketing: false,
            device: "mobile".into(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn log() -> Vec<ConsentLogEntry> {
        let mut entries = vec![entry("a", true), entry("b", false), entry("c", true)];
        chain(&mut entries);
        entries
    }

    #[test]
    fn a_chained_log_verifies_in_both_formats() {
        let entries = log();
        assert_eq!(entries[0].prev_hash, GENESIS);
        assert_eq!(entries[1].prev_hash, entries[0].hash);
        assert_eq!(verify(&entries), Ok(()));
        assert_eq!(parse(&to_csv(&entries)).unwrap(), entries);
        assert_eq!(parse(&to_jsonl(&entries)).unwrap(), entries);
    }

    #[test]
    fn a_changed_removed_or_inserted_record_is_found() {
        let mut changed = log();
        changed[1].usage = true;
        assert_eq!(verify(&changed), Err(Broken::Content(2)));

        let mut removed = log();
        removed.remove(1);
        assert_eq!(verify(&removed), Err(Broken::Link(2)));

        let mut inserted = log();
        let mut forged = inserted[0].clone();
        forged.seq = 2;
        inserted.insert(1, forged);
        assert_eq!(verify(&inserted), Err(Broken::Link(2)));

        // Rehashing the changed record alone does not help: the next breaks.
        let mut rehashed = log();
        rehashed[1].usage = true;
        rehashed[1].hash = hash_of(&rehashed[1]);
        assert_eq!(verify(&rehashed), Err(Broken::Link(3)));
    }
}
