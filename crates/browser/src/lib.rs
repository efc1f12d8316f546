//! The embed's one door to the browser, shared by the collector and the
//! banner (each a wasm module of its own).
//!
//! Every browser API they use is reached through four imported functions:
//! `Reflect.get`, `Reflect.set`, `Reflect.construct` and a function's
//! `call`. A binding per API (web-sys's way) costs a JavaScript shim and a
//! wasm stub each, and these modules load on customers' pages; with four,
//! the glue stays near wasm-bindgen's floor and the names of the APIs live
//! at their call sites, as plain strings.
//!
//! Every import catches what the browser throws (storage in a sandboxed
//! frame, a full quota, a missing API): each helper degrades to `undefined`,
//! `None` or nothing, because the embed must never break the page it runs
//! on, and an exception must never cross a Rust frame that holds state.
//!
//! Callbacks are of one type, `FnMut(JsValue)`, whether they answer an
//! event, a timer or a promise: each closure type costs its own glue.

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// A function value, to call with a receiver.
    type Callable;

    // `function.call(receiver, …)`, one binding per number of arguments:
    // an extra `undefined` is not always ignored (`push`, `append` and
    // `console.warn` take any number, and `undefined` is one).
    #[wasm_bindgen(method, catch, js_name = call)]
    fn call_0(this: &Callable, receiver: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = call)]
    fn call_1(this: &Callable, receiver: &JsValue, a: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = call)]
    fn call_2(
        this: &Callable,
        receiver: &JsValue,
        a: &JsValue,
        b: &JsValue,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = call)]
    fn call_3(
        this: &Callable,
        receiver: &JsValue,
        a: &JsValue,
        b: &JsValue,
        c: &JsValue,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = get)]
    fn reflect_get(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = set)]
    fn reflect_set(target: &JsValue, key: &JsValue, value: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = construct)]
    fn reflect_construct(target: &JsValue, arguments: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(thread_local_v2, js_name = globalThis)]
    static GLOBAL: JsValue;
}

/// `window`.
pub fn global() -> JsValue {
    GLOBAL.with(JsValue::clone)
}

/// `target[key]`, `undefined` when it cannot be read.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    reflect_get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `target[index]`.
pub fn get_index(target: &JsValue, index: u32) -> JsValue {
    reflect_get(target, &index.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `window[key]`: `document`, `location`, `JSON`, …
pub fn global_get(key: &str) -> JsValue {
    get(&global(), key)
}

/// `target[key] = value`.
pub fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = reflect_set(target, &key.into(), value);
}

/// `target[key]` as a string, when it is one.
pub fn text(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string()
}

/// `target[name]`, when it is a function.
fn method(target: &JsValue, name: &str) -> Option<Callable> {
    Some(get(target, name))
        .filter(JsValue::is_function)
        .map(JsCast::unchecked_into)
}

/// `target.name()`; `undefined` when it throws or is not a function (so
/// are the other `call`s).
pub fn call0(target: &JsValue, name: &str) -> JsValue {
    method(target, name)
        .and_then(|f| f.call_0(target).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// `target.name(a)`.
pub fn call1(target: &JsValue, name: &str, a: &JsValue) -> JsValue {
    method(target, name)
        .and_then(|f| f.call_1(target, a).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// `target.name(a, b)`.
pub fn call2(target: &JsValue, name: &str, a: &JsValue, b: &JsValue) -> JsValue {
    method(target, name)
        .and_then(|f| f.call_2(target, a, b).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// `target.name(a, b, c)`.
pub fn call3(target: &JsValue, name: &str, a: &JsValue, b: &JsValue, c: &JsValue) -> JsValue {
    method(target, name)
        .and_then(|f| f.call_3(target, a, b, c).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// `new window[constructor](a)`, `undefined` when it throws or is missing.
pub fn construct(constructor: &str, a: &JsValue) -> JsValue {
    let constructor = global_get(constructor);
    let arguments = call1(&global_get("Array"), "of", a);
    reflect_construct(&constructor, &arguments).unwrap_or(JsValue::UNDEFINED)
}

/// `JSON.parse(json)`: also how the collector makes its object literals.
pub fn parse(json: &str) -> JsValue {
    call1(&global_get("JSON"), "parse", &json.into())
}

/// `JSON.stringify(value)`.
pub fn stringify(value: &JsValue) -> Option<String> {
    call1(&global_get("JSON"), "stringify", value).as_string()
}

/// A callback the browser may call any number of times (listeners,
/// observers); it lives as long as the browser holds it.
pub fn callback(f: Box<dyn FnMut(JsValue)>) -> JsValue {
    Closure::wrap(f).into_js_value()
}

/// A callback called once (timers, promises), freed after the call.
pub fn once(f: Box<dyn FnOnce(JsValue)>) -> JsValue {
    Closure::once_into_js(f)
}

/// `target.addEventListener(kind, f, capture)`, for the page's lifetime.
pub fn listen(target: &JsValue, kind: &str, capture: bool, f: Box<dyn FnMut(JsValue)>) {
    call3(
        target,
        "addEventListener",
        &kind.into(),
        &callback(f),
        &capture.into(),
    );
}

/// Runs `f` once after `ms` milliseconds.
pub fn after(ms: i32, f: Box<dyn FnOnce(JsValue)>) {
    call2(&global(), "setTimeout", &once(f), &ms.into());
}

/// Calls `f` once with what `promise` resolves or rejects to. One callback
/// for both, so it is always called and always released.
pub fn settle(promise: &JsValue, f: Box<dyn FnOnce(JsValue)>) {
    let f = once(f);
    call2(promise, "then", &f, &f);
}

/// `document`.
pub fn document() -> JsValue {
    global_get("document")
}
