//! The banner's stylesheet, injected with it. Every rule is scoped under
//! `#sonde-consent`, so the host page's styles and ours leave each other
//! alone. Sizes are in rem and the dialog scrolls within the viewport, so it
//! stays usable at 200% zoom and on a 360 px screen. Text and buttons
//! (#1d1d2b on white, and the reverse) have a contrast ratio of about 16:1,
//! links (#1d4ed8 on white) 6.7:1: WCAG AA asks for 4.5:1.

pub const CSS: &str = r#"
#sonde-consent .sonde-banner {
  position: fixed; z-index: 2147483001; left: 50%; bottom: 0.75rem;
  transform: translateX(-50%); box-sizing: border-box;
  width: min(40rem, calc(100vw - 1.5rem)); max-height: calc(100vh - 1.5rem); overflow-y: auto;
  padding: 1rem 1.25rem; border-radius: 0.75rem; border: 1px solid #4a4a5a;
  background: #ffffff; color: #1d1d2b; box-shadow: 0 0.5rem 2rem rgba(0,0,0,.25);
  font: 400 1rem/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; text-align: left;
}
#sonde-consent .sonde-banner:focus { outline: none; }
#sonde-consent h2 { margin: 0 0 0.4rem; font-size: 1.15rem; font-weight: 650; color: #1d1d2b; }
#sonde-consent p { margin: 0 0 0.75rem; }
#sonde-consent .sonde-gpc { padding: 0.5rem 0.75rem; border-left: 0.25rem solid #1d4ed8; background: #eef2ff; }
#sonde-consent .sonde-actions { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: 0.5rem; }
#sonde-consent .sonde-button {
  font: inherit; font-weight: 600; min-height: 2.75rem; padding: 0.5rem 1rem; cursor: pointer;
  border-radius: 0.5rem; border: 2px solid #1d1d2b; background: #1d1d2b; color: #ffffff;
}
#sonde-consent .sonde-button:hover { background: #3a3a4f; border-color: #3a3a4f; }
#sonde-consent button:focus-visible, #sonde-consent input:focus-visible {
  outline: 3px solid #1d4ed8; outline-offset: 2px;
}
#sonde-consent .sonde-choices { border: 1px solid #6b6b7b; border-radius: 0.5rem; margin: 0 0 0.75rem; padding: 0.5rem 0.75rem; }
#sonde-consent label, #sonde-consent span, #sonde-consent legend, #sonde-consent fieldset {
  font: inherit; color: inherit; letter-spacing: normal; text-transform: none; margin: 0;
}
#sonde-consent strong { font-weight: 650; }
#sonde-consent legend { font-weight: 650; padding: 0 0.25rem; }
#sonde-consent .sonde-choice { display: flex; gap: 0.6rem; align-items: flex-start; padding: 0.4rem 0; cursor: pointer; }
#sonde-consent .sonde-choice input { width: 1.25rem; height: 1.25rem; margin: 0.15rem 0 0; flex: none; accent-color: #1d1d2b; }
#sonde-consent .sonde-choices .sonde-button { margin-top: 0.5rem; width: 100%; }
#sonde-consent .sonde-erase { margin-top: 0.75rem; padding-top: 0.6rem; border-top: 1px solid #d4d4dc; }
#sonde-consent .sonde-link {
  font: inherit; background: none; border: none; padding: 0.4rem 0; margin-right: 1rem; min-height: 2.75rem;
  color: #1d4ed8; text-decoration: underline; cursor: pointer;
}
#sonde-consent .sonde-policy { color: #1d4ed8; text-decoration: underline; }
#sonde-consent #sonde-text { white-space: pre-line; }
#sonde-consent [data-erase-result]:empty { display: none; }
"#;
