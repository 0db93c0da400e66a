//! Waiting without sleeping: every write, request and opened or closed watch wakes the
//! waiters, which re-check their condition.

use std::time::Duration;

use serde_json::Value;

use super::requests::RecordedRequest;
use super::KubeApiTestServer;

impl KubeApiTestServer {
    /// Re-evaluates `check` after every change to the fixture until it returns `Some`.
    /// Panics when `timeout` passes first: the timeout bounds a hung test, it is not a
    /// timing assertion.
    pub async fn wait_for<T>(&self, timeout: Duration, check: impl FnMut(&Self) -> Option<T>) -> T {
        match self.wait_or_none(timeout, check).await {
            Some(found) => found,
            None => panic!("KubeApiTestServer::wait_for: the condition did not hold within {timeout:?}"),
        }
    }

    /// Waits until the object exists and `condition` holds for it; returns it.
    pub async fn wait_for_object(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
        condition: impl Fn(&Value) -> bool,
    ) -> Value {
        let found = self
            .wait_or_none(self.wait_timeout, |s| s.get(resource, namespace, name).filter(|o| condition(o)))
            .await;
        found.unwrap_or_else(|| {
            let last = self.get(resource, namespace, name);
            panic!(
                "wait_for_object: {resource} {namespace:?}/{name} did not reach the condition within {:?}; \
                 last state: {last:#?}",
                self.wait_timeout
            )
        })
    }

    /// Waits until a request matching `condition` has been answered; returns the first.
    pub async fn wait_for_request(&self, condition: impl Fn(&RecordedRequest) -> bool) -> RecordedRequest {
        let found = self
            .wait_or_none(self.wait_timeout, |s| s.shared.requests().iter().find(|r| condition(r)).cloned())
            .await;
        found.unwrap_or_else(|| {
            let seen: Vec<String> = self.requests().iter().map(RecordedRequest::method_and_path).collect();
            panic!(
                "wait_for_request: no matching request within {:?}; requests: {seen:#?}",
                self.wait_timeout
            )
        })
    }

    async fn wait_or_none<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> Option<T> {
        let mut activity = self.shared.activity.subscribe();
        let waiting = async {
            loop {
                activity.borrow_and_update();
                if let Some(found) = check(self) {
                    return found;
                }
                // The sender lives as long as `self`, so `changed` cannot fail here.
                activity.changed().await.ok();
            }
        };
        tokio::time::timeout(timeout, waiting).await.ok()
    }
}
