/* CookieConsent v3 with Sonde's four categories and the same wording, and
   Plausible's tracker (@plausible-analytics/tracker, its ES module: the npm
   package ships no classic script) loaded once "usage" is granted. Events go
   to this server's /api/event, which answers and keeps nothing. */
(function () {
  'use strict';
  var plausibleLoaded = false;
  function loadPlausible() {
    if (plausibleLoaded || !CookieConsent.acceptedCategory('usage')) return;
    plausibleLoaded = true;
    import('/tool/plausible/plausible.js').then(function (plausible) {
      plausible.init({ domain: 'demo', endpoint: '/api/event', captureOnLocalhost: true, outboundLinks: true, fileDownloads: true });
    });
  }
  function section(title, description, category) {
    return { title: title, description: description, linkedCategory: category };
  }
  CookieConsent.run({
    // It hides itself from automated browsers (navigator.webdriver); this
    // one plays a person's.
    hideFromBots: false,
    categories: {
      necessary: { enabled: true, readOnly: true },
      usage: {},
      errors: {},
      performance: {},
      marketing: {}
    },
    onConsent: loadPlausible,
    onChange: loadPlausible,
    language: {
      default: 'en',
      translations: {
        en: {
          consentModal: {
            title: 'Your privacy on this site',
            description: 'This site would like to learn how it is used, without knowing who you are. Nothing is collected until you choose, and you can change your mind at any time.',
            acceptAllBtn: 'Accept all',
            acceptNecessaryBtn: 'Reject all',
            showPreferencesBtn: 'Choose'
          },
          preferencesModal: {
            title: 'Privacy settings',
            acceptAllBtn: 'Accept all',
            acceptNecessaryBtn: 'Reject all',
            savePreferencesBtn: 'Save choices',
            closeIconLabel: 'Close',
            sections: [
              section('Necessary', 'Remembers this choice on your device. Always on; identifies nobody.', 'necessary'),
              section('Usage', 'Which pages are visited and what is clicked, so the site can be improved.', 'usage'),
              section('Errors', 'Technical errors your browser runs into, so they can be fixed.', 'errors'),
              section('Performance', 'How fast pages load and respond on your device, so they can be made faster.', 'performance'),
              section('Marketing', 'Which campaign or website brought you here, so advertising can be judged.', 'marketing')
            ]
          }
        }
      }
    }
  });
}());
