//! What a request's user agent says: a bot, or a visitor's browser, OS and
//! device class. Bots are recognised by [`bots::BotList`] (the maintained
//! isbot patterns and Sonde's markers of automation); browsers and systems
//! are parsed by `woothee`. Only these coarse names are stored, never the
//! user agent itself.

mod bots;

/// The class of device, from the user agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
    Other,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Other => "other",
        }
    }

    /// The class [`Device::as_str`] names; `other` for any other name.
    pub fn from_name(name: &str) -> Device {
        [Device::Desktop, Device::Mobile, Device::Tablet]
            .into_iter()
            .find(|d| d.as_str() == name)
            .unwrap_or(Device::Other)
    }
}

/// The visitor's software, as stored with each event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Software {
    /// Such as "Chrome", "Firefox", "Safari"; "unknown" when unrecognised.
    pub browser: String,
    /// Such as "Windows 10", "Mac OSX", "Android", "iPhone".
    pub os: String,
    pub device: Device,
}

/// Who sent a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Agent {
    /// A crawler, monitor or automated browser: counted, not stored.
    Bot,
    Visitor(Software),
}

/// Classifies user agents; build it once, it compiles the bot list.
#[derive(Debug, Default)]
pub struct Classifier {
    bots: bots::BotList,
}

impl Classifier {
    /// A missing or empty user agent counts as a bot: every browser sends one.
    pub fn classify(&self, user_agent: &str) -> Agent {
        let user_agent = user_agent.trim();
        if user_agent.is_empty() || self.bots.is_bot(user_agent) {
            return Agent::Bot;
        }
        let parsed = woothee::parser::Parser::new().parse(user_agent);
        if parsed.as_ref().is_some_and(|p| p.category == "crawler") {
            return Agent::Bot;
        }
        let known = |s: &str| -> String {
            if s.is_empty() || s == "UNKNOWN" {
                "unknown".to_owned()
            } else {
                s.to_owned()
            }
        };
        let (browser, os, category) = match parsed {
            Some(p) => (known(p.name), known(p.os), p.category),
            None => ("unknown".to_owned(), "unknown".to_owned(), ""),
        };
        Agent::Visitor(Software {
            browser,
            os,
            device: device(category, user_agent),
        })
    }
}

/// woothee says "smartphone" for phones and tablets alike; tablets announce
/// themselves as an iPad, or as Android without "Mobile".
fn device(category: &str, user_agent: &str) -> Device {
    let tablet = user_agent.contains("iPad")
        || (user_agent.contains("Android") && !user_agent.contains("Mobile"));
    match category {
        "pc" => Device::Desktop,
        "smartphone" | "mobilephone" if tablet => Device::Tablet,
        "smartphone" | "mobilephone" => Device::Mobile,
        _ => Device::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const SAFARI_IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const FIREFOX_LINUX: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

    fn visitor(ua: &str) -> Software {
        match Classifier::default().classify(ua) {
            Agent::Visitor(software) => software,
            Agent::Bot => panic!("{ua} was taken for a bot"),
        }
    }

    #[test]
    fn browsers_are_parsed_into_browser_os_and_device() {
        let chrome = visitor(CHROME_WINDOWS);
        assert_eq!(
            (chrome.browser.as_str(), chrome.device),
            ("Chrome", Device::Desktop)
        );
        assert!(chrome.os.starts_with("Windows"), "{}", chrome.os);
        let iphone = visitor(SAFARI_IPHONE);
        assert_eq!(
            (iphone.browser.as_str(), iphone.os.as_str(), iphone.device),
            ("Safari", "iPhone", Device::Mobile)
        );
        assert_eq!(visitor(SAFARI_IPAD).device, Device::Tablet);
        let firefox = visitor(FIREFOX_LINUX);
        assert_eq!(
            (firefox.browser.as_str(), firefox.device),
            ("Firefox", Device::Desktop)
        );
    }

    #[test]
    fn crawlers_headless_browsers_and_missing_agents_are_bots() {
        let classifier = Classifier::default();
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
            "curl/8.5.0",
            "python-requests/2.31.0",
            "Mozilla/5.0 (Macintosh) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36 Lighthouse",
            "",
            "   ",
        ] {
            assert_eq!(classifier.classify(ua), Agent::Bot, "{ua:?}");
        }
    }

    #[test]
    fn the_crawlers_that_slipped_through_the_old_list_are_bots() {
        let classifier = Classifier::default();
        for ua in [
            "Mozilla/5.0 (compatible; GoogleOther)",
            "WhatsApp/2.16.2/i",
            "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
            "anthropic-ai",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 DatadogSynthetics",
            "NewRelicSynthetics/1.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36; Selenium",
            "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)",
            "HTTPie/3.2.2",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 ChatGPT-User/1.0",
        ] {
            assert_eq!(classifier.classify(ua), Agent::Bot, "{ua:?}");
        }
    }

    /// The crawlers of a public list (`data/bots/crawler-user-agents.json`,
    /// MIT, see its `.VERSION`) that Sonde counts as people, and why. Few,
    /// and each a judgement: a browser in all but name.
    const NOT_BOTS: &[(&str, &str)] = &[
        ("Code/", "VS Code's built-in browser: a person at an editor"),
        ("Trae/", "the Trae editor's built-in browser, likewise"),
        (
            "Fluid/",
            "Fluid wraps a site as a desktop app a person uses",
        ),
        (
            "MetaIAB Facebook",
            "Facebook's in-app browser, which people browse with",
        ),
        (
            "Instagram",
            "Instagram's in-app browser on Android, a person's",
        ),
    ];

    #[test]
    fn a_public_list_of_real_crawlers_is_recognised() {
        #[derive(serde::Deserialize)]
        struct Crawler {
            pattern: String,
            #[serde(default)]
            instances: Vec<String>,
        }
        let list: Vec<Crawler> =
            serde_json::from_str(include_str!("../data/bots/crawler-user-agents.json")).unwrap();
        let classifier = Classifier::default();
        let (mut total, mut missed, mut excused) = (0, Vec::new(), 0);
        for crawler in &list {
            for ua in &crawler.instances {
                total += 1;
                if classifier.classify(ua) == Agent::Bot {
                    continue;
                }
                if NOT_BOTS.iter().any(|(marker, _)| ua.contains(marker)) {
                    excused += 1;
                } else {
                    missed.push(format!("{} ({})", ua, crawler.pattern));
                }
            }
        }
        assert!(total > 2_000, "the corpus has {total} user agents");
        assert!(
            missed.is_empty(),
            "{} of {total} not recognised:\n{}",
            missed.len(),
            missed.join("\n")
        );
        assert!(excused <= NOT_BOTS.len(), "{excused} excused");
    }

    #[test]
    fn real_browsers_and_in_app_browsers_are_people() {
        let corpus = include_str!("../data/bots/browsers.txt");
        let classifier = Classifier::default();
        let browsers: Vec<&str> = corpus
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(browsers.len() >= 60, "{} browsers", browsers.len());
        for ua in browsers {
            assert!(
                matches!(classifier.classify(ua), Agent::Visitor(_)),
                "a person's browser counted as a bot: {ua}"
            );
        }
    }
}
