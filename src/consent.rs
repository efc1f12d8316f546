//! The consent banner and privacy settings a visitor of an instrumented
//! site sees.

mod banner;

pub use banner::ConsentBanner;

use sonde_protocol::Category;

/// A category's name and what it means for the visitor, in plain language.
pub fn describe(category: Category) -> (&'static str, &'static str) {
    match category {
        Category::Necessary => (
            "Necessary",
            "Remembers this choice on your device. Always on; identifies nobody.",
        ),
        Category::Usage => (
            "Usage",
            "Which pages are visited and how, so the site can be improved.",
        ),
        Category::Errors => (
            "Errors",
            "Technical errors your browser runs into, so they can be fixed.",
        ),
        Category::Performance => (
            "Performance",
            "How fast pages load and respond on your device.",
        ),
        Category::Marketing => ("Marketing", "Which campaign or website brought you here."),
    }
}
