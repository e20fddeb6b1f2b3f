//! The axum app of `examples/axum_app.rs`, in a module of its own so the curl test (`tests/it/axum.rs`)
//! compiles the same app in.
//!
//! Routes:
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /` | `hello from eddy` |
//! | `GET /users/{id}` | `{"id":ID,"name":"user ID"}` (a path extractor); `400` when `id` is not a number |
//! | `POST /orders` with `{"item":"...","quantity":N}` | `201` and `{"item":"...","quantity":N,"total_cents":N*250}` (a JSON body); `422` for a body of the wrong shape |
//! | `GET /slow/{ms}` | `slept MS ms` after an eddy sleep of that long (capped at 60 s) |
//!
//! A middleware layer (`axum::middleware::from_fn`) counts every request and adds an
//! `x-request-count` header with the count so far.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// A user, as `GET /users/{id}` answers it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) name: String,
}

/// The body `POST /orders` takes.
#[derive(Debug, Deserialize)]
pub(crate) struct NewOrder {
    pub(crate) item: String,
    pub(crate) quantity: u32,
}

/// What `POST /orders` answers.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Order {
    pub(crate) item: String,
    pub(crate) quantity: u32,
    pub(crate) total_cents: u64,
}

/// Requests answered so far, shared by the middleware and whoever built the app.
pub(crate) type Counter = Arc<AtomicU64>;

/// The app: its routes and its middleware, counting into `counter`.
pub(crate) fn app(counter: Counter) -> Router {
    Router::new()
        .route("/", get(|| async { "hello from eddy" }))
        .route("/users/{id}", get(user))
        .route("/orders", post(order))
        .route("/slow/{ms}", get(slow))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let counter = counter.clone();
                async move { count(counter, req, next).await }
            },
        ))
}

async fn user(Path(id): Path<u64>) -> Json<User> {
    Json(User {
        id,
        name: format!("user {id}"),
    })
}

async fn order(Json(order): Json<NewOrder>) -> (StatusCode, Json<Order>) {
    let total_cents = u64::from(order.quantity) * 250;
    let order = Order {
        item: order.item,
        quantity: order.quantity,
        total_cents,
    };
    (StatusCode::CREATED, Json(order))
}

async fn slow(Path(ms): Path<u64>) -> String {
    let ms = ms.min(60_000);
    // eddy's timer, inside an axum handler: the app runs on eddy, not tokio.
    eddy::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms")
}

async fn count(counter: Counter, req: Request, next: Next) -> Response {
    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
    let mut response = next.run(req).await;
    response
        .headers_mut()
        .insert("x-request-count", HeaderValue::from(n));
    response
}
