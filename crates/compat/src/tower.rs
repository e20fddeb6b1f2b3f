//! tower services (axum's `Router`, tower-http stacks) as hyper services.

use std::future::{Future, poll_fn};
use std::pin::Pin;

use hyper::Request;

/// A `tower_service::Service` seen as a `hyper::service::Service`, so [`serve`](crate::serve)
/// (or hyper's connection builders) can run it: axum's `Router`, or any tower stack.
///
/// Each request clones the service, waits until the clone is ready (`poll_ready`) and calls
/// it, as tower's contract asks; the call's future is boxed (one allocation per request).
///
/// ```
/// use eddy_compat::TowerService;
///
/// let app: axum::Router = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// let service = TowerService::new(app);
/// # let _ = service;
/// ```
#[derive(Clone, Debug)]
pub struct TowerService<S>(S);

impl<S> TowerService<S> {
    /// Wraps the tower service `service`.
    pub fn new(service: S) -> Self {
        TowerService(service)
    }

    /// The tower service inside.
    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S, R> hyper::service::Service<Request<R>> for TowerService<S>
where
    S: tower_service::Service<Request<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, request: Request<R>) -> Self::Future {
        let mut service = self.0.clone();
        Box::pin(async move {
            poll_fn(|cx| service.poll_ready(cx)).await?;
            service.call(request).await
        })
    }
}
