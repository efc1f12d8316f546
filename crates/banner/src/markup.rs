//! The dialog's markup, from a template: one pure function from what the
//! dialog shows to its HTML, so every state can be tested natively and the
//! browser side only swaps the markup in and handles events.
//!
//! The three choices (reject all, choose, accept all) are the same element
//! with the same style, in that order: none is more prominent than another,
//! and nothing is ticked before the visitor ticks it.

use crate::wording::{Language, SiteWording};

/// Why the dialog is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No decision is stored for the current policy.
    Banner,
    /// The visitor opened the privacy settings.
    Settings,
}

impl Mode {
    /// How the collector names where a decision was made.
    pub fn source(self) -> &'static str {
        match self {
            Mode::Banner => "banner",
            Mode::Settings => "settings",
        }
    }
}

/// The optional categories, in the order the dialog lists them; their
/// names are the collector's.
pub const CATEGORIES: [&str; 4] = ["usage", "errors", "performance", "marketing"];

/// Everything the dialog shows.
#[derive(Clone, Debug)]
pub struct View {
    pub mode: Mode,
    /// The per-category choices are open.
    pub choosing: bool,
    /// Ticked, per [`CATEGORIES`].
    pub checked: [bool; 4],
    /// The browser sends Global Privacy Control.
    pub gpc: bool,
    pub language: Language,
    pub site: SiteWording,
    /// What the last "erase my data" said, if anything.
    pub erase_result: Option<String>,
}

/// The dialog's HTML.
pub fn render(view: &View) -> String {
    let t = view.language.texts();
    let mut html = String::with_capacity(4096);
    html.push_str(
        "<section class=\"sonde-banner\" role=\"dialog\" aria-modal=\"true\" \
         aria-labelledby=\"sonde-title\" aria-describedby=\"sonde-text\" tabindex=\"-1\" data-mode=\"",
    );
    html.push_str(view.mode.source());
    html.push_str("\" lang=\"");
    html.push_str(view.language.tag());
    html.push_str("\"><h2 id=\"sonde-title\">");
    let title = match (view.mode, &view.site.title) {
        (Mode::Settings, _) => t.settings_title,
        (Mode::Banner, Some(title)) => title,
        (Mode::Banner, None) => t.title,
    };
    escape(&mut html, title);
    html.push_str("</h2><p id=\"sonde-text\">");
    escape(&mut html, view.site.text.as_deref().unwrap_or(t.text));
    if let Some(url) = view.site.policy_link() {
        html.push_str(" <a class=\"sonde-policy\" target=\"_blank\" rel=\"noopener\" href=\"");
        escape(&mut html, url);
        html.push_str("\">");
        html.push_str(t.policy);
        html.push_str("</a>");
    }
    html.push_str("</p>");
    if view.gpc {
        html.push_str("<p class=\"sonde-gpc\" data-gpc>");
        html.push_str(t.gpc);
        html.push_str("</p>");
    }
    if view.choosing {
        html.push_str("<fieldset class=\"sonde-choices\"><legend>");
        html.push_str(t.legend);
        html.push_str("</legend><p class=\"sonde-necessary\">");
        describe(&mut html, t.categories[0].name, t.categories[0].what);
        html.push_str("</p>");
        for (i, category) in CATEGORIES.iter().enumerate() {
            let text = &t.categories[i + 1];
            html.push_str("<label class=\"sonde-choice\" for=\"sonde-category-");
            html.push_str(category);
            html.push_str("\"><input type=\"checkbox\" id=\"sonde-category-");
            html.push_str(category);
            html.push_str("\" name=\"");
            html.push_str(category);
            html.push('"');
            if view.checked[i] {
                html.push_str(" checked");
            }
            html.push_str("><span>");
            describe(&mut html, text.name, text.what);
            if view.gpc && *category == "marketing" {
                html.push_str(t.gpc_marketing);
            }
            html.push_str("</span></label>");
        }
        button(&mut html, "sonde-button", "save", t.save, "");
        html.push_str("</fieldset>");
    }
    html.push_str("<div class=\"sonde-actions\">");
    button(&mut html, "sonde-button", "reject", t.reject, "");
    let expanded = if view.choosing {
        " aria-expanded=\"true\""
    } else {
        " aria-expanded=\"false\""
    };
    button(&mut html, "sonde-button", "choose", t.choose, expanded);
    button(&mut html, "sonde-button", "accept", t.accept, "");
    html.push_str("</div>");
    if view.mode == Mode::Settings {
        html.push_str("<div class=\"sonde-erase\">");
        button(&mut html, "sonde-link", "erase", t.erase, "");
        button(&mut html, "sonde-link", "close", t.close, "");
        html.push_str("<p role=\"status\" aria-live=\"polite\" data-erase-result>");
        if let Some(result) = &view.erase_result {
            escape(&mut html, result);
        }
        html.push_str("</p></div>");
    }
    html.push_str("</section>");
    html
}

/// "Erased 3 events and 1 consent record. Older data …", in `language`.
pub fn erased_message(language: Language, events: u64, records: u64) -> String {
    let t = language.texts();
    let mut message = t.erased.to_owned();
    count(&mut message, events, t.event);
    message.push_str(t.and);
    count(&mut message, records, t.record);
    message.push_str(t.older_data);
    message
}

/// "Nothing was erased: …", for the collector's reason (`"unreachable"` or
/// anything else, which the banner reports as refused).
pub fn not_erased_message(language: Language, reason: &str) -> String {
    let t = language.texts();
    let mut message = t.nothing_erased.to_owned();
    message.push_str(if reason == "unreachable" {
        t.unreachable
    } else {
        t.refused
    });
    message
}

fn count(out: &mut String, n: u64, (one, many): (&str, &str)) {
    sonde_protocol::json::int(out, n as i64);
    out.push(' ');
    out.push_str(if n == 1 { one } else { many });
}

fn describe(html: &mut String, name: &str, what: &str) {
    html.push_str("<strong>");
    html.push_str(name);
    html.push_str("</strong> — ");
    html.push_str(what);
}

fn button(html: &mut String, class: &str, action: &str, label: &str, extra: &str) {
    html.push_str("<button type=\"button\" class=\"");
    html.push_str(class);
    html.push_str("\" data-action=\"");
    html.push_str(action);
    html.push('"');
    html.push_str(extra);
    html.push('>');
    html.push_str(label);
    html.push_str("</button>");
}

/// Text as HTML: what the site's operator wrote is shown, never run.
fn escape(html: &mut String, text: &str) {
    let mut copied = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        html.push_str(&text[copied..i]);
        html.push_str(entity);
        copied = i + 1;
    }
    html.push_str(&text[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(mode: Mode) -> View {
        View {
            mode,
            choosing: false,
            checked: [false; 4],
            gpc: false,
            language: Language::English,
            site: SiteWording::default(),
            erase_result: None,
        }
    }

    fn position(html: &str, needle: &str) -> usize {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing: {html}"))
    }

    #[test]
    fn a_first_visit_offers_three_equal_choices_and_nothing_ticked() {
        let html = render(&view(Mode::Banner));
        let reject = position(&html, "data-action=\"reject\"");
        let choose = position(&html, "data-action=\"choose\"");
        let accept = position(&html, "data-action=\"accept\"");
        assert!(reject < choose && choose < accept);
        assert_eq!(html.matches("class=\"sonde-button\"").count(), 3);
        assert!(!html.contains("checkbox"), "the choices open on request");
        assert!(!html.contains("data-action=\"erase\""));
        assert!(html.contains("Your privacy on this site"));

        let mut choosing = view(Mode::Banner);
        choosing.choosing = true;
        let html = render(&choosing);
        assert_eq!(html.matches("type=\"checkbox\"").count(), 4);
        assert!(!html.contains(" checked"), "{html}");
        assert!(html.contains("aria-expanded=\"true\""));
        assert!(
            position(&html, "sonde-category-usage") < position(&html, "data-action=\"save\""),
            "the choices come before saving them"
        );
    }

    #[test]
    fn the_settings_show_the_choices_in_force_and_erase() {
        let mut settings = view(Mode::Settings);
        settings.choosing = true;
        settings.checked = [true, false, true, false];
        settings.erase_result = Some("Erased <1> event".into());
        let html = render(&settings);
        assert!(html.contains("id=\"sonde-category-usage\" name=\"usage\" checked"));
        assert!(html.contains("id=\"sonde-category-errors\" name=\"errors\">"));
        assert!(html.contains("name=\"performance\" checked"));
        assert!(html.contains("Privacy settings"));
        assert!(html.contains("data-action=\"erase\""));
        assert!(html.contains("Erased &lt;1&gt; event"));
    }

    #[test]
    fn the_sites_wording_replaces_the_built_in_text_and_is_never_markup() {
        let mut banner = view(Mode::Banner);
        banner.site = SiteWording {
            title: Some("Tea & <b>you</b>".into()),
            text: Some("We count \"visits\" only.".into()),
            policy_url: Some("https://shop.example/privacy?a=1&b=\"2\"".into()),
        };
        banner.language = Language::German;
        let html = render(&banner);
        assert!(html.contains("<h2 id=\"sonde-title\">Tea &amp; &lt;b&gt;you&lt;/b&gt;</h2>"));
        assert!(html.contains("We count &quot;visits&quot; only."));
        assert!(html.contains("href=\"https://shop.example/privacy?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains(">Datenschutzerklärung</a>"));
        assert!(html.contains("lang=\"de\""));
        assert!(html.contains("Alle ablehnen"));
    }

    #[test]
    fn under_gpc_the_dialog_says_so_and_explains_marketing() {
        let mut banner = view(Mode::Banner);
        banner.gpc = true;
        banner.choosing = true;
        let html = render(&banner);
        assert!(html.contains("data-gpc>Your browser sends Global Privacy Control"));
        assert!(html.contains("Off because of Global Privacy Control"));
    }

    #[test]
    fn the_erase_result_counts_in_the_visitors_language() {
        assert!(
            erased_message(Language::English, 5, 1)
                .starts_with("Erased 5 events and 1 consent record. Older data needs no erasing")
        );
        assert!(
            erased_message(Language::English, 1, 0)
                .starts_with("Erased 1 event and 0 consent records.")
        );
        assert!(
            erased_message(Language::Spanish, 2, 1)
                .starts_with("Borrado: 2 eventos y 1 registro de consentimiento.")
        );
        assert_eq!(
            not_erased_message(Language::English, "unreachable"),
            "Nothing was erased: the server could not be reached; try again later."
        );
    }
}
