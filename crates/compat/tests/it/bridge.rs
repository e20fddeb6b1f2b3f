//! `TokioBridge`: reqwest, a client that needs tokio's own runtime, called from eddy tasks
//! against eddy-compat's `serve` on loopback; panics, cancellation and shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eddy_compat::{BridgeError, Protocol, TokioBridge};

use super::each_runtime;
use super::hyper::server;

#[test]
fn reqwest_from_eddy_tasks() {
    const TASKS: usize = 10;
    const REQUESTS: usize = 20;
    each_runtime(|| async {
        let server = server(Protocol::Auto).await;
        let bridge = Arc::new(TokioBridge::new().unwrap());
        // reqwest's client holds tokio sockets: build it on the bridge's runtime.
        let client = bridge
            .run(async { reqwest::Client::builder().no_proxy().build().unwrap() })
            .await
            .unwrap();
        let base = format!("http://{}", server.addr);
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (bridge, client, base) = (bridge.clone(), client.clone(), base.clone());
                eddy::spawn(async move {
                    for r in 0..REQUESTS {
                        let body = format!("task {t} request {r}");
                        let (client, url, sent) =
                            (client.clone(), format!("{base}/echo"), body.clone());
                        let (status, text) = bridge
                            .run(async move {
                                let resp = client.post(url).body(sent).send().await.unwrap();
                                (resp.status(), resp.text().await.unwrap())
                            })
                            .await
                            .unwrap();
                        assert_eq!(status, reqwest::StatusCode::OK);
                        assert_eq!(text, body);
                    }
                    let get = bridge.run(async move {
                        client
                            .get(format!("{base}/"))
                            .send()
                            .await
                            .unwrap()
                            .text()
                            .await
                            .unwrap()
                    });
                    assert_eq!(get.await.unwrap(), "hello");
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(server.served.load(Ordering::SeqCst), TASKS * (REQUESTS + 1));
        drop(client);
        server.shut_down().await;
    });
}

#[test]
fn panics_and_cancellation_cross_the_bridge() {
    each_runtime(|| async {
        let bridge = TokioBridge::new().unwrap();
        // A panic on the tokio side comes back as the payload.
        match bridge.run(async { panic!("on tokio") }).await {
            Err(BridgeError::Panicked(payload)) => {
                assert_eq!(payload.downcast_ref::<&str>(), Some(&"on tokio"))
            }
            Err(e) => panic!("expected the panic, got {e}"),
            Ok(()) => unreachable!(),
        }
        // Dropping the `Bridged` future cancels the tokio task: its future is dropped.
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(dropped.clone());
        let (running, running_rx) = tokio::sync::oneshot::channel();
        let pending = bridge.run(async move {
            let _guard = guard;
            running.send(()).unwrap();
            std::future::pending::<()>().await
        });
        running_rx.await.unwrap();
        drop(pending);
        // The abort reaches the tokio task at its next scheduling point: until then, let
        // the bridge's thread run (the test's deadline bounds the wait).
        while !dropped.load(Ordering::SeqCst) {
            bridge.run(tokio::task::yield_now()).await.unwrap();
        }
        // Dropping the bridge cancels what still runs there.
        let orphan = bridge.run(std::future::pending::<()>());
        drop(bridge);
        assert!(matches!(orphan.await, Err(BridgeError::Cancelled)));
    });
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
