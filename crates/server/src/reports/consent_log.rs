//! The consent log: every consent record of a site, chained when it is
//! stored. Each record's hash covers its content and the hash of the record
//! stored before it ([`link`]), so a record changed, removed, inserted or
//! reordered in the store afterwards breaks the chain from there on; a
//! record erased at the visitor's request keeps its link, marked erased.
//! An export of a period carries its records' links, the first one naming
//! the record before the period, so consecutive exports link into one
//! chain, and an operator holding earlier exports can tell a chain that
//! was rewritten. [`verify`] checks an export (`sonde verify-consent-log
//! FILE`), [`verify_whole`] a whole stored chain (`--data-dir`).
//!
//! # What a store provides
//!
//! For the export: the site's records whose place in the chain falls in
//! the period (by when they were stored), in chain order, erased ones
//! included, with their stored `seq`, `prev_hash` and `hash`. It links
//! each new record with [`link`] when it stores it.

use sonde_protocol::consent_report::{CONSENT_LOG_CSV_HEADER, ConsentLogEntry};

/// A period holding every record: from the epoch to the year 10000.
pub const ALL_TIME: (i64, i64) = (0, 253_402_300_800_000);

/// The first record's `prev_hash`.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of a record with its `seq` and `prev_hash` set.
pub fn hash_of(entry: &ConsentLogEntry) -> String {
    blake3::hash(entry.chained_text().as_bytes())
        .to_hex()
        .to_string()
}

/// Makes `entry` the record after (`seq`, `hash`) of the chain, or its
/// first record after `None`.
pub fn link(entry: &mut ConsentLogEntry, after: Option<(u64, &str)>) {
    let (seq, prev) = after.unwrap_or((0, GENESIS));
    entry.seq = seq + 1;
    entry.prev_hash = prev.to_owned();
    entry.hash = hash_of(entry);
}

/// Links the entries in their order into a new chain.
pub fn chain(entries: &mut [ConsentLogEntry]) {
    let mut prev: Option<(u64, String)> = None;
    for e in entries.iter_mut() {
        link(e, prev.as_ref().map(|(seq, hash)| (*seq, hash.as_str())));
        prev = Some((e.seq, e.hash.clone()));
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

/// Checks a part of a chain, as an export holds it: each record follows
/// the one before it, and each record that was not erased has the hash of
/// its content. The first record's `prev_hash` is taken as given: it names
/// the record before the period, which the export before holds.
pub fn verify(entries: &[ConsentLogEntry]) -> Result<(), Broken> {
    let mut prev: Option<&ConsentLogEntry> = None;
    for (i, e) in entries.iter().enumerate() {
        if let Some(p) = prev
            && (e.prev_hash != p.hash || e.seq != p.seq + 1)
        {
            return Err(Broken::Link(i + 1));
        }
        if !e.erased && hash_of(e) != e.hash {
            return Err(Broken::Content(i + 1));
        }
        prev = Some(e);
    }
    Ok(())
}

/// Checks a whole chain: [`verify`], and it starts at the beginning.
pub fn verify_whole(entries: &[ConsentLogEntry]) -> Result<(), Broken> {
    if let Some(first) = entries.first()
        && (first.seq != 1 || first.prev_hash != GENESIS)
    {
        return Err(Broken::Link(1));
    }
    verify(entries)
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
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
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
            e.hash,
            e.erased
        ));
    }
    out
}

/// Reads an exported log, CSV or JSON lines (told apart by the header).
pub fn parse(text: &str) -> Result<Vec<ConsentLogEntry>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    if lines.peek().is_some_and(|l| {
        let header = l.trim();
        header == CONSENT_LOG_CSV_HEADER
            || header == CONSENT_LOG_CSV_HEADER.trim_end_matches(",erased")
    }) {
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
        erased @ ..,
    ] = f.as_slice()
    else {
        return None;
    };
    // Exports from before erasures were marked have no `erased` column.
    let erased = match erased {
        [] => false,
        [flag] => flag.parse().ok()?,
        _ => return None,
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
        erased,
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
            erased: false,
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

    #[test]
    fn an_erased_record_keeps_its_link_and_a_later_part_verifies_alone() {
        let mut entries = log();
        let erased = &mut entries[1];
        (erased.consent_id, erased.device, erased.usage) = (String::new(), String::new(), false);
        erased.erased = true;
        assert_eq!(verify_whole(&entries), Ok(()));
        assert_eq!(parse(&to_csv(&entries)).unwrap(), entries);
        // A period's export starts mid-chain and links to the one before.
        assert_eq!(verify(&entries[1..]), Ok(()));
        assert_eq!(entries[1].prev_hash, entries[0].hash);
        assert_eq!(verify_whole(&entries[1..]), Err(Broken::Link(1)));
        // Marking a record erased does not hide a change of the next.
        entries[2].usage = false;
        assert_eq!(verify(&entries), Err(Broken::Content(3)));
    }

    #[test]
    fn an_export_from_before_erasures_were_marked_still_reads() {
        let entries = log();
        let old = to_csv(&entries)
            .replace(",erased\r\n", "\r\n")
            .replace(",false\r\n", "\r\n");
        assert_eq!(parse(&old).unwrap(), entries);
    }
}
