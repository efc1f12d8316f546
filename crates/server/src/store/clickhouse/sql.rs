//! Values written into ClickHouse SQL. 18.16 has no query parameters
//! (`{name:Type}`), so values go into the text, quoted here and only here.

/// `text` as a ClickHouse string literal.
pub(super) fn quoted(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('\'');
    for c in text.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '\'' => literal.push_str("\\'"),
            '\0' => literal.push_str("\\0"),
            c => literal.push(c),
        }
    }
    literal.push('\'');
    literal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_cannot_end_a_literal() {
        assert_eq!(quoted("shop"), "'shop'");
        assert_eq!(quoted("it's"), r"'it\'s'");
        assert_eq!(quoted(r"a\' OR 1=1"), r"'a\\\' OR 1=1'");
    }
}
