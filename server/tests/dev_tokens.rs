//! The development token endpoints work only with the development key and secret.

use switchboard::testing::{spawn_test_server_with, test_config};

async fn post(base: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new().post(format!("{base}{path}")).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn dev_endpoints_mint_tokens_in_development_mode_only() {
    let server = spawn_test_server_with(test_config()).await.unwrap();
    let base = format!("http://{}", server.http_addr());
    let (status, body) = post(&base, "/dev/admin-token", serde_json::json!({})).await;
    assert_eq!(status, 200);
    let claims = switchboard::auth::verify(body["token"].as_str().unwrap(), "devkey", "secret").unwrap();
    assert!(claims.admin && claims.room.is_none());
    let (status, body) = post(&base, "/dev/token", serde_json::json!({"room": "r", "name": "Ann"})).await;
    assert_eq!(status, 200);
    assert!(body["identity"].as_str().unwrap().starts_with("ann-"));
    server.shutdown().await;

    let config = switchboard::Config { api_key: "prod".into(), api_secret: "a-real-secret-value".into(), ..test_config() };
    let server = spawn_test_server_with(config).await.unwrap();
    let base = format!("http://{}", server.http_addr());
    for (path, body) in [("/dev/admin-token", serde_json::json!({})), ("/dev/token", serde_json::json!({"room": "r", "name": "Ann"}))] {
        let (status, body) = post(&base, path, body).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let page = reqwest::get(format!("{base}/admin")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<html"), "/admin serves the dashboard");
    server.shutdown().await;
}
