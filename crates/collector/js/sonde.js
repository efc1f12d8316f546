/*! Sonde: consent-first product telemetry. One script tag on any page:
 *   <script src="https://SONDE/sonde.js" data-site="KEY" async></script>
 * Options (data attributes on the tag): data-policy-version="N" (default 1;
 * raise it to ask every visitor again), data-settings-button="off" (hide the
 * floating Privacy button; use any element with data-sonde-settings instead),
 * data-consent-mode="google" (forward decisions to gtag Consent Mode v2).
 * Before the collector is loaded, calls can be queued:
 *   (window.sonde = window.sonde || []).push(["track", "signup", {plan: "pro"}]);
 * This loader stays tiny: the collector is Rust (sonde/collector_bg.wasm), and
 * the banner (sonde/banner_bg.wasm) is fetched only when a decision is needed.
 */
(function () {
  var script = document.currentScript;
  if (!script || window.__sonde) return;
  window.__sonde = true;
  var base = new URL(".", script.src).href;
  var data = script.dataset;
  var site = data.site;
  // Calls made before the collector runs wait here; the page may queue them
  // before or after this script runs, so this array is the one it sees.
  var queued = window.sonde = Array.isArray(window.sonde) ? window.sonde : [];
  // Errors thrown before the collector runs are kept, and reported if the
  // visitor allows errors.
  var early = [];
  function keep(e) { early.push(e); }
  addEventListener("error", keep);
  addEventListener("unhandledrejection", keep);

  var banner;
  function openBanner(source) {
    banner = banner || import(base + "sonde/banner.js?site=" + encodeURIComponent(site))
      .then(function (m) { return m.default({ module_or_path: base + "sonde/banner_bg.wasm" }).then(function () { return m; }); });
    banner.then(function (m) { m.open(source, window.sonde); });
  }

  import(base + "sonde/collector.js")
    .then(function (m) {
      return m.default({ module_or_path: base + "sonde/collector_bg.wasm" }).then(function () { return m; });
    })
    .then(function (m) {
      removeEventListener("error", keep);
      removeEventListener("unhandledrejection", keep);
      var sonde = m.start(site, base + "api", +(data.policyVersion || 1),
        data.settingsButton !== "off", data.consentMode === "google",
        function (source) { openBanner(source); }, early);
      window.sonde = sonde;
      queued.forEach(function (call) {
        if (typeof sonde[call[0]] === "function") sonde[call[0]].apply(sonde, call.slice(1));
      });
    })
    .catch(function (e) { console.warn("Sonde could not start:", e); });
})();
