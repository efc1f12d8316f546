//! The scrubber as it was written over characters (`Vec<char>`) before it
//! moved to bytes for the collector's size: the reference the byte version
//! is held to in `properties.rs`.

pub const EMAIL: &str = "[email]";
pub const NUMBER: &str = "[number]";
pub const TOKEN: &str = "[token]";
const MIN_DIGITS: usize = 6;
const MIN_TOKEN_LEN: usize = 20;

pub fn text(input: &str) -> String {
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    // What follows a placeholder starts a word of its own, so scrubbing the
    // output again finds nothing more ("[number]_token…" stays as it is).
    let mut after_placeholder = false;
    while i < chars.len() {
        let word_start = i == 0 || !is_word(chars[i - 1]) || after_placeholder;
        after_placeholder = false;
        if is_word(chars[i]) && word_start {
            let end = word_end(&chars, i);
            if let Some(email_end) = email_end(&chars, i, end) {
                out.push_str(EMAIL);
                i = email_end;
                after_placeholder = true;
                continue;
            }
            if let Some(digits_end) = digit_run_end(&chars, i) {
                out.push_str(NUMBER);
                i = digits_end;
                after_placeholder = true;
                continue;
            }
            if is_token(&chars[i..end]) {
                out.push_str(TOKEN);
                i = end;
                continue;
            }
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => s[..cut].to_owned(),
        None => s.to_owned(),
    }
}

fn is_word(c: char) -> bool {
    is_alphanumeric(c) || matches!(c, '-' | '_' | '.' | '+' | '%')
}

/// A letter or digit. Anything beyond ASCII counts as a letter: exact for
/// the e-mail, digit-run and token rules (which are ASCII), and it keeps
/// Unicode's tables, several kilobytes, out of the collector.
fn is_alphanumeric(c: char) -> bool {
    c.is_ascii_alphanumeric() || !c.is_ascii()
}

fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || !c.is_ascii()
}

fn word_end(chars: &[char], start: usize) -> usize {
    let mut end = start;
    while end < chars.len() && is_word(chars[end]) {
        end += 1;
    }
    end
}

/// `local@domain.tld` starting at `start`, where the local part is the word
/// `start..end`; returns where the address ends.
fn email_end(chars: &[char], start: usize, end: usize) -> Option<usize> {
    if chars.get(end) != Some(&'@') || end == start {
        return None;
    }
    let domain_end = word_end(chars, end + 1);
    let domain: String = chars[end + 1..domain_end].iter().collect();
    let domain = domain.trim_end_matches('.');
    let (name, tld) = domain.rsplit_once('.')?;
    (!name.is_empty() && tld.len() >= 2 && tld.chars().all(is_letter))
        .then(|| end + 1 + domain.chars().count())
}

/// A run of at least [`MIN_DIGITS`] digits starting at `start`, allowing
/// single spaces or dashes between digits; returns where it ends. The run is
/// the longest one that ends at a word boundary: a digit run glued to
/// letters ("abc1234567x") is a token, not a number, but a number followed by
/// a space and such a word ("123456 7abc") is still a number.
fn digit_run_end(chars: &[char], start: usize) -> Option<usize> {
    let (mut i, mut digits, mut longest) = (start, 0, None);
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            digits += 1;
            i += 1;
            let at_boundary = i == chars.len() || !is_alphanumeric(chars[i]);
            if at_boundary && digits >= MIN_DIGITS {
                longest = Some(i);
            }
        } else if matches!(chars[i], ' ' | '-')
            && digits > 0
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            i += 1;
        } else {
            break;
        }
    }
    longest
}

fn is_token(word: &[char]) -> bool {
    let core: Vec<char> = word
        .iter()
        .copied()
        .filter(|c| !matches!(c, '.' | '+' | '%'))
        .collect();
    core.len() >= MIN_TOKEN_LEN
        && core.iter().any(char::is_ascii_digit)
        && core.iter().any(|c| is_letter(*c))
        && core
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}
