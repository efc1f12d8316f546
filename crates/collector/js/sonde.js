/*! Sonde: consent-first product telemetry. One script tag on any page:
 *   <script src="https://SONDE/sonde.js" data-site="KEY" async></script>
 * Options (data attributes on the tag): data-policy-version="N" (default 1;
 * raise it to ask every visitor again), data-lang="de" (the banner's
 * language; by default the browser's: en, de, fr, es), data-settings-button="off"
 * (hide the floating Privacy button; use any element with data-sonde-settings
 * instead), data-consent-mode="google" (forward decisions to gtag Consent
 * Mode v2). Before the collector is loaded, calls can be queued:
 *   (window.sonde = window.sonde || []).push(["track", "signup", {plan: "pro"}]);
 * This loader is the only file at a fixed address, cached for minutes; it
 * names this build's collector and banner (Rust compiled to wasm), whose
 * names change with their content, so browsers keep them for a year. The
 * banner is fetched only when a decision is needed, together with the
 * collector, or when the visitor opens the settings.
 */
(function () {
  var script = document.currentScript;
  if (!script || window.__sonde) return;
  window.__sonde = true;
  var base = new URL(".", script.src).href;
  var data = script.dataset;
  var site = data.site;
  var policy = +(data.policyVersion || 1);
  // Calls made before the collector runs wait here; the page may queue them
  // before or after this script runs, so this array is the one it sees.
  var queued = window.sonde = Array.isArray(window.sonde) ? window.sonde : [];
  // Errors thrown before the collector runs are kept, and reported if the
  // visitor allows errors.
  var early = [];
  function keep(e) { early.push(e); }
  addEventListener("error", keep);
  addEventListener("unhandledrejection", keep);

  // A wasm-bindgen module: its glue and its wasm, fetched at the same time.
  function load(name) {
    var wasm = fetch(base + "sonde/" + name + ".wasm");
    return import(base + "sonde/" + name + ".js").then(function (m) {
      return m.default({ module_or_path: wasm }).then(function () { return m; });
    });
  }

  // The banner and the site's wording for it. Downloading the wording is
  // what counts a banner impression, so the settings say why they ask.
  var banner;
  function fetchBanner(reason) {
    banner = banner || Promise.all([
      load("__SONDE_BANNER__"),
      fetch(base + "api/banner/" + encodeURIComponent(site) + (reason ? "?reason=" + reason : ""))
        .then(function (r) { return r.ok ? r.json() : {}; })
        .catch(function () { return {}; }),
    ]);
    return banner;
  }
  function openBanner(source) {
    fetchBanner(source === "settings" ? "settings" : "").then(function (b) {
      b[0].open(source, window.sonde, b[1], data.lang || "");
    });
  }

  // Is a decision stored for this policy? Then the banner is not needed;
  // otherwise it loads alongside the collector rather than after it.
  var decided = false;
  try {
    var stored = JSON.parse(localStorage.getItem("sonde:consent:" + site));
    decided = !!stored && stored.policy_version === policy;
  } catch (e) {}
  if (!decided) fetchBanner("");

  load("__SONDE_COLLECTOR__")
    .then(function (m) {
      removeEventListener("error", keep);
      removeEventListener("unhandledrejection", keep);
      m.start(site, base + "api", policy, data.settingsButton !== "off",
        data.consentMode === "google", openBanner, early);
      window.sonde = m;
      queued.forEach(function (call) {
        if (typeof m[call[0]] === "function") m[call[0]].apply(m, call.slice(1));
      });
    })
    .catch(function (e) { console.warn("Sonde could not start:", e); });
})();
