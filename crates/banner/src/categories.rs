//! What each consent category means, in the visitor's words.

use sonde_protocol::Category;

/// A category's name and what it collects and why, in one plain line.
pub fn describe(category: Category) -> (&'static str, &'static str) {
    match category {
        Category::Necessary => (
            "Necessary",
            "Remembers this choice on your device. Always on; identifies nobody.",
        ),
        Category::Usage => (
            "Usage",
            "Which pages are visited and what is clicked, so the site can be improved.",
        ),
        Category::Errors => (
            "Errors",
            "Technical errors your browser runs into, so they can be fixed.",
        ),
        Category::Performance => (
            "Performance",
            "How fast pages load and respond on your device, so they can be made faster.",
        ),
        Category::Marketing => (
            "Marketing",
            "Which campaign or website brought you here, so advertising can be judged.",
        ),
    }
}
