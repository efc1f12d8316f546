//! When something happened, in the reader's own time zone: the alerts'
//! firings, the digests sent.

/// `ms` since the epoch, to the minute (`4 Dec 2026, 15:09`).
pub fn local_time(ms: i64) -> String {
    let date = js_sys::Date::new(&js_sys::Number::from(ms as f64).into());
    let options = js_sys::Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "short")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    date.to_locale_string("en-GB", &options).into()
}
