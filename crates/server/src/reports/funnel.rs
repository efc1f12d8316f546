//! Funnels, apart from any store: given each unit's events in the order
//! they were stored, which steps it reached and when ([`progress`]), the
//! figures per step ([`summarize`]) and per value of a dimension
//! ([`break_down`], [`rank_groups`]). The semantics are written in [`sonde_protocol::funnel`].
//!
//! # What a store provides
//!
//! For a funnel over a [`Scope`](super::Scope), the store answers each unit
//! (a session, or a visitor, as the funnel says) that has an event in the
//! scope's period which some step may match, with those events as
//! [`Occurrence`]s, in the order they were stored (time, then the stored
//! sequence number: two events of one millisecond keep their arrival
//! order). Units come in any order. For a breakdown, the store answers each
//! unit's value of the dimension from its first event in the period. A
//! store may instead compute [`summarize`]'s figures in its own engine, as
//! long as they equal this arithmetic's on every input.

use foldhash::{HashMap, HashSet};
use sonde_protocol::funnel::{FunnelGroup, MAX_STEPS, Step, StepResult};

/// What one event of a unit says, as far as funnels care.
#[derive(Clone, Debug, PartialEq)]
pub struct Occurrence {
    pub ts: i64,
    pub what: Happened,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Happened {
    /// A page view of this path.
    Page(String),
    /// An event of this name, with its properties as text.
    Event {
        name: String,
        props: Vec<(String, String)>,
    },
    /// The steps this event matches, as bits (step `i` is bit `i`), when
    /// the store worked that out itself from the same definitions.
    Steps(u8),
}

impl Occurrence {
    /// Whether this event is step `index`, `step`.
    fn is(&self, index: usize, step: &Step) -> bool {
        match &self.what {
            Happened::Page(path) => step.matches_page(path),
            Happened::Event { name, props } => step.matches_event(name, |key| {
                props.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
            }),
            Happened::Steps(mask) => mask & (1 << index) != 0,
        }
    }
}

/// How far one unit got: the time at which it reached each step, from the
/// first.
pub fn progress(steps: &[Step], events: &[Occurrence], window_ms: i64) -> Vec<i64> {
    let mut best: Vec<i64> = Vec::new();
    for (start, entry) in events.iter().enumerate() {
        if !entry.is(0, &steps[0]) {
            continue;
        }
        let deadline = entry.ts.saturating_add(window_ms);
        let mut reached = vec![entry.ts];
        let mut next = start + 1;
        for (index, step) in steps.iter().enumerate().skip(1) {
            let found = events[next..]
                .iter()
                .position(|e| e.ts <= deadline && e.is(index, step));
            match found {
                Some(offset) => {
                    reached.push(events[next + offset].ts);
                    next += offset + 1;
                }
                None => break,
            }
        }
        if reached.len() > best.len() {
            best = reached;
            if best.len() == steps.len() {
                break;
            }
        }
    }
    best
}

/// Most groups a breakdown lists.
const GROUPS: usize = 10;

/// A funnel broken down by a dimension: the figures over every unit, and
/// per value of the dimension (each unit's progress goes to its value's
/// group, `(none)` for a unit without one; groups by label, those no unit
/// entered left out), from one pass over each unit's events.
pub fn break_down(
    steps: &[Step],
    window_ms: i64,
    units: &[(String, Vec<Occurrence>)],
    values: &std::collections::HashMap<String, String>,
) -> (Vec<StepResult>, Vec<(String, Vec<StepResult>)>) {
    let mut all = Tally::new(steps.len());
    let mut groups: std::collections::BTreeMap<&str, Vec<Vec<i64>>> = Default::default();
    for (unit, events) in units {
        let value = values.get(unit).map_or(NO_VALUE, String::as_str);
        let reached = progress(steps, events, window_ms);
        all.add(&reached);
        groups.entry(value).or_default().push(reached);
    }
    // Groups no unit entered are left out.
    let groups = groups
        .into_iter()
        .map(|(label, progresses)| (label.to_owned(), summarize(steps.len(), &progresses)))
        .filter(|(_, steps)| steps.first().is_some_and(|s| s.entrants > 0))
        .collect();
    (all.finish(), groups)
}

/// The group of units without a value of the breakdown's dimension.
pub const NO_VALUE: &str = "(none)";

/// The groups of a breakdown a reader sees: those that some unit entered,
/// most entrants first, the top ten of those entered by at least `k`
/// units; the second figure counts the others.
pub fn rank_groups(groups: Vec<(String, Vec<StepResult>)>, k: u64) -> (Vec<FunnelGroup>, u64) {
    let mut hidden = 0;
    let mut out: Vec<FunnelGroup> = Vec::new();
    for (label, steps) in groups {
        let entrants = steps.first().map_or(0, |s| s.entrants);
        if entrants == 0 {
            continue;
        }
        if entrants < k {
            hidden += 1;
            continue;
        }
        out.push(FunnelGroup { label, steps });
    }
    out.sort_by(|a, b| {
        b.steps[0]
            .entrants
            .cmp(&a.steps[0].entrants)
            .then_with(|| a.label.cmp(&b.label))
    });
    hidden += out.len().saturating_sub(GROUPS) as u64;
    out.truncate(GROUPS);
    (out, hidden)
}

/// The figures per step over every unit's progress (see [`progress`]).
pub fn summarize(step_count: usize, progresses: &[Vec<i64>]) -> Vec<StepResult> {
    let mut tally = Tally::new(step_count);
    for reached in progresses {
        tally.add(reached);
    }
    tally.finish()
}

/// The figures per step, gathered one unit's progress at a time.
#[derive(Clone, Debug)]
pub struct Tally {
    entrants: Vec<u64>,
    /// Per step, the time each unit took from the step before.
    gaps: Vec<Vec<i64>>,
}

impl Tally {
    pub fn new(step_count: usize) -> Self {
        Tally {
            entrants: vec![0; step_count],
            gaps: vec![Vec::new(); step_count],
        }
    }

    /// One unit, by the times it reached each step (see [`progress`]).
    pub fn add(&mut self, reached: &[i64]) {
        for (i, at) in reached.iter().enumerate().take(self.entrants.len()) {
            self.entrants[i] += 1;
            if i > 0 {
                self.gaps[i].push(at - reached[i - 1]);
            }
        }
    }

    /// Adds the units another tally of the same funnel followed.
    pub fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.entrants.iter_mut().zip(other.entrants) {
            *mine += theirs;
        }
        for (mine, theirs) in self.gaps.iter_mut().zip(other.gaps) {
            mine.extend(theirs);
        }
    }

    pub fn finish(mut self) -> Vec<StepResult> {
        let entrants = &self.entrants;
        let share = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        (0..entrants.len())
            .map(|i| StepResult {
                entrants: entrants[i],
                from_first: share(entrants[i], entrants[0]),
                from_previous: if i == 0 {
                    share(entrants[0], entrants[0])
                } else {
                    share(entrants[i], entrants[i - 1])
                },
                dropped: if i == 0 {
                    0
                } else {
                    entrants[i - 1] - entrants[i]
                },
                median_ms_from_previous: median(&mut self.gaps[i]),
            })
            .collect()
    }
}

/// One event a funnel step matched, packed for grouping: its unit (a 64-bit
/// key), its time, and its stored position above the steps it matches as
/// bits (step `i` is bit `i`, at most [`MAX_STEPS`] of them). Sorted, a
/// unit's events come together, in the order they happened and were stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Marked {
    unit: u64,
    ts: i64,
    row_and_steps: u64,
}

impl Marked {
    fn steps(&self) -> u32 {
        (self.row_and_steps & 0xff) as u32
    }
}

/// One column batch of marked events, as the store reads them (the three
/// slices are of one length): each event's unit, time, and stored position
/// times 256 plus its steps, as in [`Marked`].
pub struct MarkedColumns<'a> {
    pub units: &'a [u64],
    pub ts: &'a [i64],
    pub rows_and_steps: &'a [i64],
}

/// A funnel's figures over marked events that come in any order (see
/// [`gather_marked`] for how they are grouped by unit).
pub fn tally_marked(
    step_count: usize,
    window_ms: i64,
    batches: &[MarkedColumns],
) -> Vec<StepResult> {
    let mut all = Tally::new(step_count);
    for part in gather_marked(step_count, window_ms, batches, &|| Tally::new(step_count)) {
        all.merge(part);
    }
    all.finish()
}

/// [`tally_marked`], which also says how many steps each unit of
/// `followed` reached (units none of whose events a step matched left
/// out).
pub fn tally_marked_following(
    step_count: usize,
    window_ms: i64,
    batches: &[MarkedColumns],
    followed: &HashSet<u64>,
) -> (Vec<StepResult>, HashMap<u64, usize>) {
    struct Following<'a> {
        tally: Tally,
        followed: &'a HashSet<u64>,
        reached: Vec<(u64, usize)>,
    }
    impl Gather for Following<'_> {
        fn gather(&mut self, unit: u64, reached: &[i64]) {
            self.tally.add(reached);
            if self.followed.contains(&unit) {
                self.reached.push((unit, reached.len()));
            }
        }
    }
    let parts = gather_marked(step_count, window_ms, batches, &|| Following {
        tally: Tally::new(step_count),
        followed,
        reached: Vec::new(),
    });
    let mut all = Tally::new(step_count);
    let mut reached = HashMap::default();
    for part in parts {
        all.merge(part.tally);
        reached.extend(part.reached);
    }
    (all.finish(), reached)
}

/// [`tally_marked`] over every unit and per group: `group_of` gives a
/// unit's group (below `groups`), `none` the group of units it does not
/// list.
pub fn tally_marked_by_group(
    step_count: usize,
    window_ms: i64,
    batches: &[MarkedColumns],
    group_of: &HashMap<u64, u32>,
    none: u32,
    groups: usize,
) -> (Vec<StepResult>, Vec<Vec<StepResult>>) {
    struct ByGroup<'a> {
        all: Tally,
        groups: Vec<Tally>,
        group_of: &'a HashMap<u64, u32>,
        none: u32,
    }
    impl Gather for ByGroup<'_> {
        fn gather(&mut self, unit: u64, reached: &[i64]) {
            self.all.add(reached);
            let group = self.group_of.get(&unit).copied().unwrap_or(self.none);
            if let Some(tally) = self.groups.get_mut(group as usize) {
                tally.add(reached);
            }
        }
    }
    let parts = gather_marked(step_count, window_ms, batches, &|| ByGroup {
        all: Tally::new(step_count),
        groups: vec![Tally::new(step_count); groups],
        group_of,
        none,
    });
    let mut all = Tally::new(step_count);
    let mut per_group = vec![Tally::new(step_count); groups];
    for part in parts {
        all.merge(part.all);
        for (mine, theirs) in per_group.iter_mut().zip(part.groups) {
            mine.merge(theirs);
        }
    }
    (
        all.finish(),
        per_group.into_iter().map(Tally::finish).collect(),
    )
}

/// What a pass over marked events does with each unit's progress; each
/// worker gathers its own, merged after.
trait Gather: Send {
    /// One unit, by the times it reached each step (see [`progress`]).
    fn gather(&mut self, unit: u64, reached: &[i64]);
}

impl Gather for Tally {
    fn gather(&mut self, _unit: u64, reached: &[i64]) {
        self.add(reached);
    }
}

/// Follows every unit of the marked events, in any order, into one
/// [`Gather`] per worker.
///
/// The events are grouped by unit without sorting them all: the units are
/// split by the top bits of their (mixed) key into about `n / 32`
/// partitions; a pass counts the events of each, a second places them, and
/// each partition, a few dozen events, is sorted on its own, which puts
/// each unit's events together and in order. The partitions are shared out
/// among the cores, each worker taking a range of them. A sort of all
/// events (in DuckDB or here) took longer than the rest of a funnel query
/// at 10 million events. Each unit is followed by the semantics of
/// [`progress`].
fn gather_marked<G: Gather>(
    step_count: usize,
    window_ms: i64,
    batches: &[MarkedColumns],
    new: &(dyn Fn() -> G + Sync),
) -> Vec<G> {
    let total: usize = batches.iter().map(|b| b.units.len()).sum();
    let bits = (usize::BITS - (total / 32).leading_zeros()).min(20);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(1 << bits);
    let partitions = 1usize << bits;
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..workers)
            .map(|w| {
                let range = partitions * w / workers..partitions * (w + 1) / workers;
                scope.spawn(move || {
                    let mut gathered = new();
                    gather_partitions(step_count, window_ms, batches, bits, range, &mut gathered);
                    gathered
                })
            })
            .collect();
        running
            .into_iter()
            .map(|worker| worker.join().expect("a funnel worker finishes"))
            .collect()
    })
}

/// [`gather_marked`]'s work on the units whose partition is in `range`.
fn gather_partitions(
    step_count: usize,
    window_ms: i64,
    batches: &[MarkedColumns],
    bits: u32,
    range: std::ops::Range<usize>,
    gathered: &mut dyn Gather,
) {
    // Multiplying spreads keys that are not hashes (visitor ids) over the
    // top bits too.
    let partition = |unit: u64| {
        let mixed = unit.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        mixed.checked_shr(64 - bits).unwrap_or(0) as usize
    };
    let mut starts = vec![0usize; range.len() + 1];
    for batch in batches {
        for &unit in batch.units {
            let p = partition(unit);
            if range.contains(&p) {
                starts[p - range.start + 1] += 1;
            }
        }
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut placed = vec![Marked::default(); starts[range.len()]];
    let mut next = starts.clone();
    for batch in batches {
        for i in 0..batch.units.len() {
            let p = partition(batch.units[i]);
            if range.contains(&p) {
                let at = &mut next[p - range.start];
                placed[*at] = Marked {
                    unit: batch.units[i],
                    ts: batch.ts[i],
                    row_and_steps: batch.rows_and_steps[i] as u64,
                };
                *at += 1;
            }
        }
    }
    let mut reached = [0i64; MAX_STEPS];
    for edges in starts.windows(2) {
        let part = &mut placed[edges[0]..edges[1]];
        part.sort_unstable();
        for unit in part.chunk_by(|a, b| a.unit == b.unit) {
            let got = progress_of_marked(step_count, unit, window_ms, &mut reached);
            gathered.gather(unit[0].unit, &reached[..got]);
        }
    }
}

/// [`progress`] for one unit's marked events (in order), without
/// allocating: the times each step was reached go to `reached`, and their
/// count is returned.
fn progress_of_marked(
    step_count: usize,
    events: &[Marked],
    window_ms: i64,
    reached: &mut [i64; MAX_STEPS],
) -> usize {
    let mut best = 0;
    let mut run = [0i64; MAX_STEPS];
    for start in 0..events.len() {
        if events[start].steps() & 1 == 0 {
            continue;
        }
        let deadline = events[start].ts.saturating_add(window_ms);
        run[0] = events[start].ts;
        let mut got = 1;
        let mut next = start + 1;
        while got < step_count {
            let bit = 1 << got;
            match (next..events.len()).find(|&e| events[e].steps() & bit != 0) {
                Some(e) if events[e].ts <= deadline => {
                    run[got] = events[e].ts;
                    got += 1;
                    next = e + 1;
                }
                _ => break,
            }
        }
        if got > best {
            best = got;
            reached[..got].copy_from_slice(&run[..got]);
            if best == step_count {
                break;
            }
        }
    }
    best
}

/// The median, the lower of the two middle values for an even count.
fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn page(ts: i64, path: &str) -> Occurrence {
        Occurrence {
            ts,
            what: Happened::Page(path.into()),
        }
    }

    fn event(ts: i64, name: &str) -> Occurrence {
        Occurrence {
            ts,
            what: Happened::Event {
                name: name.into(),
                props: vec![("plan".into(), "pro".into())],
            },
        }
    }

    fn checkout() -> Vec<Step> {
        vec![
            Step::Page {
                path: "/products/*".into(),
            },
            Step::Page {
                path: "/cart".into(),
            },
            Step::Event {
                name: "purchase".into(),
                property: Some("plan".into()),
                value: Some("pro".into()),
            },
        ]
    }

    #[test]
    fn steps_count_in_order_only() {
        let steps = checkout();
        // The cart before any product page does not count.
        let events = [
            page(0, "/cart"),
            page(MIN, "/products/kettle"),
            event(2 * MIN, "purchase"),
        ];
        assert_eq!(progress(&steps, &events, 60 * MIN), [MIN]);
    }

    #[test]
    fn a_step_on_the_same_millisecond_as_the_one_before_counts() {
        let steps = checkout();
        let events = [
            page(5, "/products/a"),
            page(5, "/cart"),
            event(5, "purchase"),
        ];
        assert_eq!(progress(&steps, &events, 1), [5, 5, 5]);
    }

    #[test]
    fn the_window_runs_from_the_entry() {
        let steps = checkout();
        let events = [
            page(0, "/products/a"),
            page(10 * MIN, "/cart"),
            event(31 * MIN, "purchase"),
        ];
        assert_eq!(progress(&steps, &events, 30 * MIN), [0, 10 * MIN]);
        // A later entry inside the window reaches the end: it counts.
        let events = [
            page(0, "/products/a"),
            page(20 * MIN, "/products/b"),
            page(25 * MIN, "/cart"),
            event(40 * MIN, "purchase"),
        ];
        assert_eq!(
            progress(&steps, &events, 30 * MIN),
            [20 * MIN, 25 * MIN, 40 * MIN]
        );
    }

    #[test]
    fn one_event_satisfies_one_step() {
        let steps = vec![
            Step::Page {
                path: "/cart".into(),
            },
            Step::Page {
                path: "/cart".into(),
            },
        ];
        assert_eq!(progress(&steps, &[page(0, "/cart")], MIN), [0]);
        assert_eq!(
            progress(&steps, &[page(0, "/cart"), page(1, "/cart")], MIN),
            [0, 1]
        );
    }

    #[test]
    fn a_unit_without_the_first_step_is_not_counted() {
        assert!(progress(&checkout(), &[page(0, "/cart")], MIN).is_empty());
    }

    #[test]
    fn a_breakdown_counts_each_unit_in_its_group_and_hides_small_ones() {
        let steps = vec![
            Step::Page { path: "/".into() },
            Step::Page {
                path: "/cart".into(),
            },
        ];
        let unit = |id: &str, to_cart: bool| {
            let mut events = vec![page(0, "/")];
            if to_cart {
                events.push(page(MIN, "/cart"));
            }
            (id.to_owned(), events)
        };
        let units = vec![
            unit("a", true),
            unit("b", false),
            unit("c", true),
            unit("d", true),
            (String::from("e"), vec![page(0, "/about")]),
        ];
        let values: std::collections::HashMap<String, String> = [
            ("a", "Firefox"),
            ("b", "Firefox"),
            ("c", "Safari"),
            ("d", "Chrome"),
            ("e", "Chrome"),
        ]
        .into_iter()
        .map(|(u, v)| (u.into(), v.into()))
        .collect();
        let (totals, groups) = break_down(&steps, 10 * MIN, &units, &values);
        let (groups, hidden) = rank_groups(groups, 2);
        // The totals count every unit, hidden groups' too: a, b, c and d entered.
        let entered: Vec<u64> = totals.iter().map(|s| s.entrants).collect();
        assert_eq!(entered, [4, 3]);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].label, "Firefox");
        let entrants: Vec<u64> = groups[0].steps.iter().map(|s| s.entrants).collect();
        assert_eq!(entrants, [2, 1]);
        // Safari and Chrome entered once each (e never entered): under k = 2.
        assert_eq!(hidden, 2);
    }

    #[test]
    fn figures_per_step_from_three_units() {
        // Reached 3 steps, 2 steps (1 min and 3 min apart), and 1 step.
        let progresses = vec![vec![0, MIN, 5 * MIN], vec![0, 3 * MIN], vec![0], vec![]];
        let steps = summarize(3, &progresses);
        let entrants: Vec<u64> = steps.iter().map(|s| s.entrants).collect();
        assert_eq!(entrants, [3, 2, 1]);
        assert_eq!(steps[1].from_first, 2.0 / 3.0);
        assert_eq!(steps[2].from_previous, 0.5);
        assert_eq!(steps[2].from_first, 1.0 / 3.0);
        assert_eq!(steps[1].dropped, 1);
        assert_eq!(steps[0].median_ms_from_previous, None);
        assert_eq!(steps[1].median_ms_from_previous, Some(MIN));
        assert_eq!(steps[2].median_ms_from_previous, Some(4 * MIN));
    }

    #[test]
    fn no_entrants_gives_zero_shares_not_a_division_by_zero() {
        let steps = summarize(2, &[vec![], vec![]]);
        assert_eq!(steps[0].entrants, 0);
        assert_eq!(steps[1].from_first, 0.0);
        assert_eq!(steps[1].median_ms_from_previous, None);
    }

    /// Marked events handed over in any order (units interleaved, later
    /// events first, keys that are small numbers rather than hashes) count
    /// as each unit's events in stored order do; two events on the same
    /// millisecond keep their stored order.
    #[test]
    fn marked_events_in_any_order_count_as_each_unit_in_order() {
        use rand::seq::SliceRandom;
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        // Per unit, its events in stored order: (time, steps as bits).
        // Enough units that the partitions hold several each.
        let mut units: Vec<Vec<(i64, u32)>> = Vec::new();
        for _ in 0..30_000 {
            let mut ts = rng.random_range(0..10 * MIN);
            let events = (0..rng.random_range(1..9))
                .map(|_| {
                    ts += [0, 1, MIN, 20 * MIN][rng.random_range(0..4)];
                    (ts, rng.random_range(0..16u32))
                })
                .collect();
            units.push(events);
        }
        // The cart and the purchase on the same millisecond: in stored
        // order the cart comes first, so both steps are reached.
        units.push(vec![(0, 0b0001), (5, 0b0010), (5, 0b0100), (6, 0b1000)]);
        // Stored the other way round, the purchase does not count.
        units.push(vec![(0, 0b0001), (5, 0b0100), (5, 0b0010), (6, 0b1000)]);
        let mut rows: Vec<(u64, i64, i64)> = Vec::new();
        let mut row = 0;
        for (unit, events) in units.iter().enumerate() {
            for &(ts, steps) in events {
                rows.push((unit as u64, ts, row * 256 + i64::from(steps)));
                row += 1;
            }
        }
        rows.shuffle(&mut rng);
        let (keys, rest): (Vec<u64>, Vec<(i64, i64)>) =
            rows.into_iter().map(|(k, t, r)| (k, (t, r))).unzip();
        let (ts, rows_and_steps): (Vec<i64>, Vec<i64>) = rest.into_iter().unzip();
        let half = keys.len() / 2;
        let batches = [
            MarkedColumns {
                units: &keys[..half],
                ts: &ts[..half],
                rows_and_steps: &rows_and_steps[..half],
            },
            MarkedColumns {
                units: &keys[half..],
                ts: &ts[half..],
                rows_and_steps: &rows_and_steps[half..],
            },
        ];
        let steps: Vec<Step> = (0..4)
            .map(|i| Step::Page {
                path: format!("/{i}"),
            })
            .collect();
        let progresses: Vec<Vec<i64>> = units
            .iter()
            .map(|events| {
                let occurrences: Vec<Occurrence> = events
                    .iter()
                    .map(|&(ts, bits)| Occurrence {
                        ts,
                        what: Happened::Steps(bits as u8),
                    })
                    .collect();
                progress(&steps, &occurrences, 30 * MIN)
            })
            .collect();
        assert_eq!(progresses[30_000], [0, 5, 5, 6]);
        assert_eq!(progresses[30_001], [0, 5]);
        let expected = summarize(4, &progresses);
        assert!(expected[3].entrants > 0, "some units finish");
        assert_eq!(tally_marked(4, 30 * MIN, &batches), expected);
    }
}
