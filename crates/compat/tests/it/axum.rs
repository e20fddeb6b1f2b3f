//! axum on eddy: the example app (`examples/axum_app/mod.rs`) served by `serve`, queried by
//! `curl` over HTTP/1.1 and, where curl has HTTP/2, with prior knowledge over HTTP/2.

#[path = "../../examples/app/mod.rs"]
mod app;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use eddy::sync::CancellationToken;
use eddy_compat::{TowerService, serve};
use std::future::IntoFuture;

use super::{curl, curl_present, each_runtime};

/// Splits curl's output into the body and the status code written after it.
fn status_and_body(out: &str) -> (u16, &str) {
    let (body, code) = out.rsplit_once('\n').expect("the status line written last");
    (code.parse().expect("a status code"), body)
}

/// `curl` with the status code appended on a line of its own, and the given options.
async fn fetch(args: &[&str]) -> (u16, String) {
    let mut all: Vec<String> = vec!["--write-out".into(), "\n%{http_code}".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    let out = curl(all).await.unwrap();
    let (code, body) = status_and_body(&out);
    (code, body.to_owned())
}

fn curl_has_http2() -> bool {
    std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("HTTP2"))
}

#[test]
fn axum_app_through_curl() {
    if !curl_present("axum_app_through_curl") {
        return;
    }
    let http2 = curl_has_http2();
    if !http2 {
        println!("axum_app_through_curl: this curl has no HTTP/2; checking HTTP/1.1 only");
    }
    each_runtime(move || async move {
        let counter = Arc::new(AtomicU64::new(0));
        let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let server = eddy::spawn(
            serve(listener, TowerService::new(app::app(counter.clone())))
                .with_graceful_shutdown(stop.clone().cancelled_owned(), Duration::from_secs(5))
                .into_future(),
        );
        let url = |path: &str| format!("{base}{path}");

        assert_eq!(
            fetch(&[&url("/")]).await,
            (200, "hello from eddy".to_owned())
        );

        let (code, body) = fetch(&[&url("/users/42")]).await;
        assert_eq!(code, 200);
        let user: app::User = serde_json::from_str(&body).unwrap();
        assert_eq!(
            user,
            app::User {
                id: 42,
                name: "user 42".into()
            }
        );
        // The path extractor rejects what is not a number.
        assert_eq!(fetch(&[&url("/users/forty-two")]).await.0, 400);

        let (code, body) = fetch(&[
            "-H",
            "content-type: application/json",
            "--data",
            r#"{"item":"tea","quantity":3}"#,
            &url("/orders"),
        ])
        .await;
        assert_eq!(code, 201, "{body}");
        let order: app::Order = serde_json::from_str(&body).unwrap();
        assert_eq!(
            order,
            app::Order {
                item: "tea".into(),
                quantity: 3,
                total_cents: 750
            }
        );
        // A body of the wrong shape is refused by the JSON extractor.
        let orders = url("/orders");
        let wrong = fetch(&[
            "-H",
            "content-type: application/json",
            "--data",
            r#"{"item":"tea"}"#,
            &orders,
        ])
        .await;
        assert_eq!(wrong.0, 422, "{}", wrong.1);
        assert_eq!(fetch(&[&url("/nowhere")]).await.0, 404);
        // A handler that sleeps on eddy's timer.
        assert_eq!(
            fetch(&[&url("/slow/20")]).await,
            (200, "slept 20 ms".to_owned())
        );

        // The middleware saw every request so far, and says so in its header.
        let (code, headers) = fetch(&["--head", &url("/")]).await;
        assert_eq!(code, 200);
        let count = headers
            .lines()
            .find_map(|l| l.strip_prefix("x-request-count: "))
            .unwrap_or_else(|| panic!("no x-request-count header in {headers:?}"));
        assert_eq!(count.trim(), "8");

        let mut requests = 8;
        if http2 {
            let (code, body) = fetch(&["--http2-prior-knowledge", &url("/users/7")]).await;
            assert_eq!((code, body.as_str()), (200, r#"{"id":7,"name":"user 7"}"#));
            let version = curl(vec![
                "--http2-prior-knowledge".into(),
                "--output".into(),
                "/dev/null".into(),
                "--write-out".into(),
                "%{http_version}".into(),
                url("/"),
            ])
            .await
            .unwrap();
            assert_eq!(version, "2");
            requests += 2;
        }
        assert_eq!(counter.load(Ordering::SeqCst), requests);
        stop.cancel();
        let report = server.await.unwrap().unwrap();
        assert!(report.shutdown.is_clean(), "{report}");
    });
}
