//! Operations endpoints: readiness.

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn readiness_says_the_store_and_writer_are_up() {
    let app = TestApp::start().await;
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ready");
}
