/* Klaro with Sonde's four categories (one service each) and the same
   wording; the decision is kept in a cookie, as by default. */
var klaroConfig = {
  version: 1,
  elementID: 'klaro',
  storageMethod: 'cookie',
  cookieName: 'klaro',
  default: false,
  mustConsent: false,
  acceptAll: true,
  hideDeclineAll: false,
  lang: 'en',
  translations: {
    en: {
      consentNotice: {
        description: 'This site would like to learn how it is used, without knowing who you are. Nothing is collected until you choose, and you can change your mind at any time.'
      },
      consentModal: { title: 'Privacy settings' },
      purposes: { usage: 'Usage', errors: 'Errors', performance: 'Performance', marketing: 'Marketing' },
      usage: { description: 'Which pages are visited and what is clicked, so the site can be improved.' },
      errors: { description: 'Technical errors your browser runs into, so they can be fixed.' },
      performance: { description: 'How fast pages load and respond on your device, so they can be made faster.' },
      marketing: { description: 'Which campaign or website brought you here, so advertising can be judged.' }
    }
  },
  services: [
    { name: 'usage', title: 'Usage', purposes: ['usage'] },
    { name: 'errors', title: 'Errors', purposes: ['errors'] },
    { name: 'performance', title: 'Performance', purposes: ['performance'] },
    { name: 'marketing', title: 'Marketing', purposes: ['marketing'] }
  ]
};
