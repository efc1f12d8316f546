//! The API keys page: an admin makes a read-only key, copies its token
//! (shown once), a script reads a report with it, and once the admin
//! revokes it the script is refused.

use serde_json::json;

use crate::support::{Harness, ONE_BROWSER, now_ms};

/// `GET /api/overview` of the demo site as a script would: the key only.
async fn read_with(h: &Harness, token: &str) -> reqwest::StatusCode {
    let now = now_ms();
    reqwest::Client::new()
        .get(h.url(&format!(
            "/api/overview?site=demo&from={}&to={}",
            now - 86_400_000,
            now
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// Waits for the page to say the site has no key.
async fn no_key_listed(h: &Harness) {
    h.wait_until("no key listed", || async {
        h.js("return document.querySelector('.api-key-list .empty')?.textContent")
            .await
            == json!("This site has no API key.")
    })
    .await;
}

#[tokio::test]
async fn an_admin_makes_a_key_a_script_reads_with_it_until_it_is_revoked() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.sign_in_to_dashboard().await;
    h.click("nav.pages a[href^='/api-keys']").await;
    no_key_listed(&h).await;

    h.type_into("input[name=api-key-name]", "Metabase").await;
    h.click(".api-key-form button[type=submit]").await;
    // The list reloads around the token: look it up afresh until it is there.
    let token_script = "return document.querySelector('code[data-token]')?.textContent";
    h.wait_until("the token shown", || async {
        h.js(token_script)
            .await
            .as_str()
            .is_some_and(|t| t.starts_with("sonde_"))
    })
    .await;
    let token = h.js(token_script).await.as_str().unwrap().to_owned();
    h.wait_until("the key listed", || async {
        h.table("table[data-api-keys]")
            .await
            .first()
            .is_some_and(|row| {
                row[..3]
                    == [
                        "Metabase".to_owned(),
                        "read the stats".into(),
                        format!("{}…", &token[..12]),
                    ]
            })
    })
    .await;
    assert_eq!(read_with(&h, &token).await, 200);
    h.screenshot("api-keys-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("api-keys-360").await;

    h.click("table[data-api-keys] button[aria-label='Revoke Metabase']")
        .await;
    no_key_listed(&h).await;
    assert_eq!(read_with(&h, &token).await, 401);
    assert_eq!(h.api("/api/sites/demo/api-keys").await, json!([]));
    h.finish().await;
}
