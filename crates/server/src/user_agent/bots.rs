//! The bot list: the patterns of the `isbot` JavaScript package, which its
//! maintainers keep up to date against real crawler traffic, vendored in
//! `data/bots/patterns.json` (its upstream commit and checksum in
//! `patterns.VERSION`; `cargo xtask refresh-bots` fetches the newest), plus
//! Sonde's own markers for what that list leaves to a URL in the user agent
//! or to the whole string being a tool's name: automation, synthetic
//! monitors, scanners, HTTP libraries, AI agents, link previewers.
//!
//! isbot joins its patterns into one case-insensitive JavaScript regular
//! expression. The patterns the `regex` crate can compile become one
//! alternation in it; the few that need lookaround (which `regex` leaves
//! out to guarantee linear time) are matched with `fancy-regex`, each on
//! its own, so the backtracking engine never sees the whole list.

/// isbot's patterns, as published.
const PATTERNS: &str = include_str!("../../data/bots/patterns.json");

/// Sonde's own markers, case-insensitive, each verified against
/// `data/bots/browsers.txt` (see `data/bots/NOTES.md`).
const MARKERS: &[&str] = &[
    // Automated and headless browsers.
    "webdriver",
    "puppeteer",
    "playwright",
    "selenium",
    "headless",
    "phantomjs",
    "slimerjs",
    // Synthetic monitors and page testers.
    "synthetic",
    "gtmetrix",
    "checkly",
    "lighthouse",
    r"\bylt\b",
    // Scanners.
    r"\b(?:nikto|sqlmap|nmap|nuclei|acunetix|nessus|qualys)\b",
    // HTTP libraries and command-line clients.
    r"\bwget",
    "python-requests",
    r"\baxios/",
    r"\bundici\b",
    r"\bruby/\d",
    "postmanruntime/",
    r"\binsomnia/",
    r"\breqwest/",
    r"^dart/|\(dart:io\)",
    // AI agents and fetchers.
    r"\b(?:chatgpt|claude|perplexity)-user\b",
    r"\bclaude-web\b",
    r"\b(?:anthropic|cohere)-ai\b",
    "tsm-turingos",
    // Archivers and link previewers.
    r"miniature\.io/",
    "whatsapp/",
    "facebookexternalhit",
];

/// Recognises bots by their user agent; build it once.
#[derive(Debug)]
pub struct BotList {
    /// Every pattern `regex` compiles, as one alternation.
    plain: regex::bytes::Regex,
    /// The patterns that need lookaround, each behind a `regex` of the
    /// same pattern without its lookarounds (which matches whatever it
    /// matches, and more): the backtracking engine runs only where that
    /// one matched, which is seldom, so a person's browser costs one pass
    /// of the linear-time engines.
    lookaround: Vec<(regex::bytes::Regex, fancy_regex::Regex)>,
}

impl Default for BotList {
    fn default() -> Self {
        let published: Vec<String> =
            serde_json::from_str(PATTERNS).expect("data/bots/patterns.json is a list of strings");
        let mut plain = Vec::new();
        let mut lookaround = Vec::new();
        for pattern in published
            .iter()
            .map(|p| from_javascript(p))
            .chain(MARKERS.iter().map(|m| (*m).to_owned()))
        {
            if regex::bytes::Regex::new(&pattern).is_ok() {
                plain.push(pattern);
            } else {
                let wider = without_lookaround(&pattern);
                let prefilter = regex::bytes::Regex::new(&format!("(?i-u){wider}"))
                    .unwrap_or_else(|e| panic!("bot pattern {pattern:?} without lookaround: {e}"));
                let exact = fancy_regex::RegexBuilder::new(&format!("(?i){pattern}"))
                    .build()
                    .unwrap_or_else(|e| panic!("bot pattern {pattern:?}: {e}"));
                lookaround.push((prefilter, exact));
            }
        }
        // ASCII classes and word boundaries, as in JavaScript.
        let plain = regex::bytes::RegexBuilder::new(&format!("(?i-u)(?:{})", plain.join("|")))
            .size_limit(1 << 24)
            .build()
            .expect("the bot patterns compile");
        BotList { plain, lookaround }
    }
}

impl BotList {
    pub fn is_bot(&self, user_agent: &str) -> bool {
        self.plain.is_match(user_agent.as_bytes())
            || self.lookaround.iter().any(|(wider, exact)| {
                wider.is_match(user_agent.as_bytes()) && exact.is_match(user_agent).unwrap_or(false)
            })
    }
}

/// `pattern` with its lookahead and lookbehind groups left out: a pattern
/// that matches wherever `pattern` does.
fn without_lookaround(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    // Depth of the lookaround group being skipped, if any.
    let mut skipping = 0usize;
    let (mut escaped, mut in_class) = (false, false);
    while let Some(c) = chars.next() {
        let literal = escaped || in_class && c != ']';
        if !literal {
            match c {
                '(' if skipping > 0 => skipping += 1,
                ')' if skipping > 0 => {
                    skipping -= 1;
                    continue;
                }
                '(' => {
                    let rest: String = chars.clone().take(3).collect();
                    if ["?=", "?!", "?<=", "?<!"]
                        .iter()
                        .any(|look| rest.starts_with(look))
                        && !rest.starts_with("?<P")
                    {
                        skipping = 1;
                        continue;
                    }
                }
                _ => {}
            }
        }
        escaped = !escaped && c == '\\';
        if !escaped && !literal {
            in_class = match c {
                '[' => true,
                ']' => false,
                _ => in_class,
            };
        }
        if skipping == 0 {
            out.push(c);
        }
    }
    out
}

/// Where JavaScript reads a pattern differently from Rust: after a class
/// escape inside `[…]`, a `-` is a literal in JavaScript (`[\w\d-.]`) and
/// an error in Rust, so it is escaped.
fn from_javascript(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let (mut in_class, mut escaped, mut after_class_escape) = (false, false, false);
    for c in pattern.chars() {
        if escaped {
            out.push(c);
            escaped = false;
            after_class_escape = in_class && matches!(c, 'w' | 'W' | 'd' | 'D' | 's' | 'S');
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '-' if after_class_escape => out.push('\\'),
            _ => {}
        }
        after_class_escape = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_without_its_lookarounds_matches_more() {
        assert_eq!(
            without_lookaround(r"(?<! cu)bots?(?:\b|_)"),
            r"bots?(?:\b|_)"
        );
        assert_eq!(
            without_lookaround(r"(?<! channel/|google/)google(?!(?:wv|app|/google| pixel))"),
            "google"
        );
        assert_eq!(without_lookaround(r"java(?!;)"), "java");
        assert_eq!(
            without_lookaround(r"[(?!]x\(?!y"),
            r"[(?!]x\(?!y",
            "escaped and in a class"
        );
    }

    #[test]
    fn a_dash_after_a_class_escape_is_a_literal_as_in_javascript() {
        assert_eq!(from_javascript(r"[\w\d-.]+"), r"[\w\d\-.]+");
        assert_eq!(from_javascript(r"[a-z]\d-x"), r"[a-z]\d-x");
    }

    #[test]
    fn the_vendored_lists_are_the_ones_their_version_files_name() {
        use sha2::Digest;
        for (file, version) in [
            (PATTERNS, include_str!("../../data/bots/patterns.VERSION")),
            (
                include_str!("../../data/bots/crawler-user-agents.json"),
                include_str!("../../data/bots/crawler-user-agents.VERSION"),
            ),
        ] {
            let recorded = version
                .lines()
                .find_map(|l| l.strip_prefix("sha256: "))
                .expect("a sha256 line");
            let actual = sha2::Sha256::digest(file.as_bytes());
            let hex: String = actual.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(
                recorded.trim(),
                hex,
                "a list changed without its VERSION file"
            );
        }
    }
}
