//! Removing personal data from what the browser sees before it is sent, and
//! again at ingest: one implementation, so both sides apply the same rules.
//!
//! - A page URL keeps its path only; the query and the fragment are dropped,
//!   since they routinely carry e-mail addresses, search terms, tokens and
//!   ids. Campaign (`utm_*`) parameters are read out separately, as a
//!   [`crate::Campaign`], because they need the `marketing` grant.
//! - Free text (paths, titles, error messages, property values) has e-mail
//!   addresses, long digit runs and token-like strings replaced by
//!   placeholders, so a message that names a customer or a card number is
//!   kept without them.
//!
//! No regular expressions: this runs in the collector, where every kilobyte
//! counts, and the rules are simple enough to scan for by hand.

/// Replaces an e-mail address.
pub const EMAIL: &str = "[email]";
/// Replaces a run of [`MIN_DIGITS`] or more digits (spaces and dashes between
/// digits included, as in card and phone numbers).
pub const NUMBER: &str = "[number]";
/// Replaces a token-like string: [`MIN_TOKEN_LEN`] or more letters, digits,
/// `-` or `_`, mixing letters and digits (session tokens, API keys, UUIDs).
pub const TOKEN: &str = "[token]";

/// Shortest digit run treated as personal (order numbers, phone numbers,
/// card numbers); shorter numbers such as quantities and years stay.
pub const MIN_DIGITS: usize = 6;
/// Shortest token-like word redacted.
pub const MIN_TOKEN_LEN: usize = 20;

/// Reduces a URL (absolute, or a path) to its path, with personal data in
/// its segments redacted.
pub fn page_url(url: &str) -> String {
    let path = percent_decode(path_of(url), false);
    let path = if path.is_empty() { "/" } else { &path };
    // A decoded `?` or `#` belongs to the path: keep it encoded, so the
    // path never reads as carrying a query or a fragment.
    let scrubbed = text(path);
    let mut out = String::with_capacity(scrubbed.len());
    for part in scrubbed.split_inclusive(['?', '#']) {
        match part.as_bytes().last() {
            Some(b'?') => {
                out.push_str(&part[..part.len() - 1]);
                out.push_str("%3F");
            }
            Some(b'#') => {
                out.push_str(&part[..part.len() - 1]);
                out.push_str("%23");
            }
            _ => out.push_str(part),
        }
    }
    out
}

/// The campaign (`utm_*`) parameters of a URL, as `(name without the utm_
/// prefix, decoded value)` pairs.
pub fn utm_parameters(url: &str) -> Vec<(String, String)> {
    let before_fragment = until(url, b"#");
    let Some(at) = find(before_fragment, b'?') else {
        return Vec::new();
    };
    let mut parameters = Vec::new();
    for pair in before_fragment[at + 1..].split('&') {
        let Some(eq) = find(pair, b'=') else { continue };
        let Some(name) = pair[..eq].strip_prefix("utm_") else {
            continue;
        };
        let value = percent_decode(&pair[eq + 1..], true);
        if !value.is_empty() {
            parameters.push((name.to_owned(), text(&value)));
        }
    }
    parameters
}

/// A link target reduced to host and path, for outbound links and
/// downloads: no credentials, port, query or fragment.
pub fn link(url: &str) -> String {
    match after_scheme(url) {
        Some(rest) => {
            let host = referrer_host(url).unwrap_or_default();
            let path = find(rest, b'/').map_or("", |slash| path_of(&rest[slash..]));
            text(&(host + path))
        }
        None => page_url(url),
    }
}

/// Reduces a referrer (a URL, or already a bare host) to its host, the only
/// part kept without the `marketing` grant. `None` when there is no host.
pub fn referrer_host(referrer: &str) -> Option<String> {
    let authority = until(after_scheme(referrer).unwrap_or(referrer), b"/?#");
    // Drop any credentials, then the port.
    let host = match authority.bytes().rposition(|b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let host = until(host, b":");
    let plausible = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']'));
    plausible.then(|| host.to_ascii_lowercase())
}

/// Free text with e-mail addresses, long digit runs and token-like strings
/// replaced by [`EMAIL`], [`NUMBER`] and [`TOKEN`].
///
/// The scan runs over the UTF-8 bytes: every rule is about ASCII, and each
/// byte of a character beyond ASCII (all of them 0x80 or above) counts as a
/// letter, so a word ends exactly where it would by characters, and the
/// collector carries neither Unicode tables nor a `Vec<char>`.
pub fn text(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    // Where the input has been copied up to.
    let mut copied = 0;
    // What follows a placeholder starts a word of its own, so scrubbing the
    // output again finds nothing more ("[number]_token…" stays as it is).
    let mut after_placeholder = false;
    while i < bytes.len() {
        let word_start = i == 0 || !is_word(bytes[i - 1]) || after_placeholder;
        after_placeholder = false;
        if !(is_word(bytes[i]) && word_start) {
            i += 1;
            continue;
        }
        let end = word_end(bytes, i);
        let redacted = if let Some(email_end) = email_end(bytes, i, end) {
            after_placeholder = true;
            Some((EMAIL, email_end))
        } else if let Some(digits_end) = digit_run_end(bytes, i) {
            after_placeholder = true;
            Some((NUMBER, digits_end))
        } else if is_token(&bytes[i..end]) {
            Some((TOKEN, end))
        } else {
            None
        };
        match redacted {
            Some((placeholder, until)) => {
                // Every cut is next to an ASCII byte: a character boundary.
                out.push_str(&input[copied..i]);
                out.push_str(placeholder);
                i = until;
                copied = until;
            }
            None => i = end,
        }
    }
    out.push_str(&input[copied..]);
    out
}

/// At most `max` characters of `s`, cut at a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    let mut chars = 0;
    for (at, b) in s.bytes().enumerate() {
        // A character starts at every byte that is not a continuation byte.
        if b & 0xC0 != 0x80 {
            if chars == max {
                return s[..at].to_owned();
            }
            chars += 1;
        }
    }
    s.to_owned()
}

/// The number of characters in `s`, counted without decoding it.
pub fn char_count(s: &str) -> usize {
    s.bytes().filter(|b| b & 0xC0 != 0x80).count()
}

fn path_of(url: &str) -> &str {
    let without_origin = match after_scheme(url) {
        Some(rest) => find(rest, b'/').map_or("/", |slash| &rest[slash..]),
        None => url,
    };
    until(without_origin, b"?#")
}

/// What follows the first `://`. The URL helpers search bytes by hand:
/// `str`'s pattern searchers cost the collector more than these rules.
fn after_scheme(url: &str) -> Option<&str> {
    let at = url.as_bytes().windows(3).position(|w| w == b"://")?;
    Some(&url[at + 3..])
}

/// The first position of the ASCII byte `b`.
fn find(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

/// `s` up to the first of the ASCII `stops`.
fn until<'a>(s: &'a str, stops: &[u8]) -> &'a str {
    match s.bytes().position(|c| stops.contains(&c)) {
        Some(at) => &s[..at],
        None => s,
    }
}

fn is_word(b: u8) -> bool {
    is_alphanumeric(b) || matches!(b, b'-' | b'_' | b'.' | b'+' | b'%')
}

/// A letter or digit; every byte of a character beyond ASCII counts as a
/// letter (see [`text`]).
fn is_alphanumeric(b: u8) -> bool {
    b.is_ascii_alphanumeric() || !b.is_ascii()
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic() || !b.is_ascii()
}

fn word_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    end
}

/// `local@domain.tld` starting at `start`, where the local part is the word
/// `start..end`; returns where the address ends.
fn email_end(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    if bytes.get(end) != Some(&b'@') || end == start {
        return None;
    }
    let domain_end = word_end(bytes, end + 1);
    let mut domain = &bytes[end + 1..domain_end];
    while let [rest @ .., b'.'] = domain {
        domain = rest;
    }
    let dot = domain.iter().rposition(|b| *b == b'.')?;
    let (name, tld) = (&domain[..dot], &domain[dot + 1..]);
    (!name.is_empty() && tld.len() >= 2 && tld.iter().all(|b| is_letter(*b)))
        .then_some(end + 1 + domain.len())
}

/// A run of at least [`MIN_DIGITS`] digits starting at `start`, allowing
/// single spaces or dashes between digits; returns where it ends. The run is
/// the longest one that ends at a word boundary: a digit run glued to
/// letters ("abc1234567x") is a token, not a number, but a number followed by
/// a space and such a word ("123456 7abc") is still a number.
fn digit_run_end(bytes: &[u8], start: usize) -> Option<usize> {
    let (mut i, mut digits, mut longest) = (start, 0, None);
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            digits += 1;
            i += 1;
            let at_boundary = i == bytes.len() || !is_alphanumeric(bytes[i]);
            if at_boundary && digits >= MIN_DIGITS {
                longest = Some(i);
            }
        } else if matches!(bytes[i], b' ' | b'-')
            && digits > 0
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            i += 1;
        } else {
            break;
        }
    }
    longest
}

/// A token-like word: ignoring `.`, `+` and `%`, at least [`MIN_TOKEN_LEN`]
/// ASCII letters, digits, `-` or `_`, with a letter and a digit among them.
fn is_token(word: &[u8]) -> bool {
    let (mut len, mut digit, mut letter) = (0, false, false);
    for &b in word {
        if matches!(b, b'.' | b'+' | b'%') {
            continue;
        }
        if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')) {
            return false;
        }
        len += 1;
        digit |= b.is_ascii_digit();
        letter |= b.is_ascii_alphabetic();
    }
    len >= MIN_TOKEN_LEN && digit && letter
}

/// Decodes `%XX` escapes (and `+` as a space in query values), so that an
/// encoded e-mail address (`jane%40example.com`) is recognised. Escapes that
/// do not decode to UTF-8 stay as they came, the ASCII ones around them
/// decoded.
fn percent_decode(value: &str, plus_is_space: bool) -> String {
    decode(value, plus_is_space, false)
        .or_else(|| decode(value, plus_is_space, true))
        .unwrap_or_else(|| value.to_owned())
}

fn decode(value: &str, plus_is_space: bool, ascii_only: bool) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| Some((hex(*bytes.get(i + 1)?)? << 4) | hex(*bytes.get(i + 2)?)?))
            .flatten()
            .filter(|b| !ascii_only || b.is_ascii());
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_url_keeps_only_its_path() {
        assert_eq!(
            page_url(
                "https://shop.example/cart?email=a@b.c&utm_source=news&id=42&utm_medium=mail#top"
            ),
            "/cart"
        );
        assert_eq!(page_url("/search?q=my+name#results"), "/search");
        assert_eq!(page_url("/"), "/");
        assert_eq!(page_url("/a%3Fb%23c"), "/a%3Fb%23c");
    }

    #[test]
    fn an_origin_without_a_path_is_the_root() {
        assert_eq!(page_url("https://shop.example"), "/");
        assert_eq!(page_url("https://shop.example?token=abc"), "/");
        assert_eq!(page_url(""), "/");
    }

    #[test]
    fn personal_data_in_path_segments_is_redacted() {
        assert_eq!(
            page_url("https://shop.example/users/jane.doe@example.com/orders/12345678"),
            "/users/[email]/orders/[number]"
        );
        assert_eq!(
            page_url("/reset/9f8e7d6c5b4a39281706f5e4d3c2b1a0/confirm"),
            "/reset/[token]/confirm"
        );
        assert_eq!(page_url("/products/kettle-2024"), "/products/kettle-2024");
        assert_eq!(page_url("/u/jane%40example.com/a+b"), "/u/[email]/a+b");
        assert_eq!(page_url("/caf%C3%A9"), "/café");
        // Not UTF-8: kept encoded, and what is ASCII still decoded.
        assert_eq!(page_url("/%FF/jane%40example.com"), "/%FF/[email]");
    }

    #[test]
    fn utm_parameters_are_read_out_decoded_and_scrubbed() {
        let params = utm_parameters(
            "https://shop.example/?utm_source=news%20letter&x=1&utm_campaign=spring+sale&utm_term=jane@x.org#a",
        );
        assert_eq!(
            params,
            vec![
                ("source".to_owned(), "news letter".to_owned()),
                ("campaign".to_owned(), "spring sale".to_owned()),
                ("term".to_owned(), EMAIL.to_owned()),
            ]
        );
        assert!(utm_parameters("/plain").is_empty());
        assert!(utm_parameters("/?utm_source=").is_empty());
    }

    #[test]
    fn a_link_keeps_host_and_path() {
        assert_eq!(
            link("https://user:pw@Tea.Example.org:8443/guide?ref=me#x"),
            "tea.example.org/guide"
        );
        assert_eq!(link("https://tea.example.org"), "tea.example.org");
        assert_eq!(link("/files/catalogue.pdf?t=1"), "/files/catalogue.pdf");
    }

    #[test]
    fn a_referrer_is_reduced_to_its_host() {
        assert_eq!(
            referrer_host("https://user:pw@News.Example:8443/a/b?x=1").as_deref(),
            Some("news.example")
        );
        assert_eq!(referrer_host(""), None);
        assert_eq!(
            referrer_host("News.Example").as_deref(),
            Some("news.example")
        );
        assert_eq!(referrer_host("not a host"), None);
    }

    #[test]
    fn emails_digit_runs_and_tokens_are_redacted_from_text() {
        assert_eq!(
            text(
                "Payment failed for jane.doe@example.com with card 4111 1111 1111 1111, session token abcdef0123456789abcdef0123456789"
            ),
            "Payment failed for [email] with card [number], session token [token]"
        );
        assert_eq!(
            text("Call +44 20-7946-0958 about order 12345678."),
            "Call +44 [number] about order [number]."
        );
        assert_eq!(
            text("id 550e8400-e29b-41d4-a716-446655440000"),
            "id [token]"
        );
    }

    #[test]
    fn a_number_next_to_a_token_like_word_is_still_redacted() {
        // Found by the property tests: the run went on across the space into
        // the next word, was then glued to a letter, and the number was kept.
        assert_eq!(text("000000 0A_a-_A0A00A0aaAaa__"), "[number] [token]");
        assert_eq!(text("order 123456 7abc"), "order [number] 7abc");
        assert_eq!(text("call 555 123 4567x"), "call [number] 4567x");
        // What is glued to a number is looked at as a word of its own.
        assert_eq!(text("000000 0_AA000aa00_a-_A-a-aA"), "[number][token]");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for s in [
            "TypeError: cannot read properties of undefined (reading 'x')",
            "Added 3 items in 2024",
            "at https://shop.example/app.js:12:34",
            "Ünïcödé café, 12345 left",
            "a@b",
            "",
        ] {
            assert_eq!(text(s), s);
        }
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("hi", 10), "hi");
        assert_eq!(truncate("日本語", 0), "");
        assert_eq!(truncate("日本語", 3), "日本語");
        assert_eq!(char_count("héllo 日本"), 8);
    }
}
