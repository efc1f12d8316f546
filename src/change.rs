//! How a figure moved against the compared period (the period before, or a
//! year before), as the dashboard says it.

use sonde_protocol::Versus;

/// The relative change from `before` to `now` (0.25 is +25 %); `None` when
/// there was nothing before to compare with.
pub fn relative(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| (now - before) / before)
}

/// `+25 %`, `−10 %`, or a dash where the period before had nothing.
pub fn describe(change: Option<f64>) -> String {
    match change {
        Some(c) if c >= 0.0 => format!("+{:.0} %", c * 100.0),
        Some(c) => format!("−{:.0} %", -c * 100.0),
        None => "–".to_owned(),
    }
}

/// A figure's change in a sentence's words: "+25 % against the period
/// before (80)".
pub fn against(now: f64, before: f64, before_shown: &str, versus: Versus) -> String {
    format!(
        "{} {} ({before_shown})",
        describe(relative(now, before)),
        compared(versus)
    )
}

/// What a change is measured against: "against a year before".
pub fn compared(versus: Versus) -> String {
    format!("against {}", versus.phrase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_people_say_them() {
        assert_eq!(describe(Some(0.25)), "+25 %");
        assert_eq!(describe(Some(-0.1)), "−10 %");
        assert_eq!(describe(None), "–");
        assert_eq!(relative(3.0, 0.0), None);
        assert_eq!(
            against(120.0, 100.0, "100", Versus::Previous),
            "+20 % against the period before (100)"
        );
        assert_eq!(
            against(90.0, 100.0, "100", Versus::YearBefore),
            "−10 % against a year before (100)"
        );
    }
}
