//! Group commit for what senders post. Each request's items wait on one writer task, which writes
//! everything that queued up while the previous commit ran in a single transaction, then answers
//! each request. A request is answered only after its items are committed (invariant 1), yet under
//! load many requests share one commit instead of paying for one each.

use muster_core::engage::NewJob;
use muster_store::{NewInbound, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Items of one transaction at most.
const MAX_ITEMS: usize = 2000;

struct Pending {
    items: Vec<NewInbound>,
    extra: Vec<NewJob>,
    now: jiff::Timestamp,
    done: oneshot::Sender<Result<(), StoreError>>,
}

#[derive(Clone)]
pub struct Ingester {
    queue: Option<mpsc::Sender<Pending>>,
    store: Arc<dyn Store>,
}

impl Ingester {
    /// With `batching` off every request commits on its own (for comparison in benchmarks).
    pub fn start(store: Arc<dyn Store>, batching: bool) -> Self {
        if !batching {
            return Self { queue: None, store };
        }
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(writer(store.clone(), rx));
        Self { queue: Some(tx), store }
    }

    /// Writes the items (with their routing jobs) and `extra` jobs; returns once they are committed.
    pub async fn ingest(
        &self,
        items: Vec<NewInbound>,
        extra: Vec<NewJob>,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        let Some(queue) = &self.queue else { return self.store.ingest(&items, &extra, now).await };
        let (done, answer) = oneshot::channel();
        if queue.send(Pending { items, extra, now, done }).await.is_err() {
            return Err(StoreError::Unavailable("the ingest writer stopped".into()));
        }
        answer.await.map_err(|_| StoreError::Unavailable("the ingest writer stopped".into()))?
    }
}

async fn writer(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let mut count = batch[0].items.len();
        while count < MAX_ITEMS {
            match rx.try_recv() {
                Ok(p) => {
                    count += p.items.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        let items: Vec<NewInbound> = batch.iter().flat_map(|p| p.items.iter().cloned()).collect();
        let extra: Vec<NewJob> = batch.iter().flat_map(|p| p.extra.iter().cloned()).collect();
        // One receipt time per commit: the latest of the requests' (the injected clock's) instants.
        let now = batch.iter().map(|p| p.now).max().unwrap_or_else(jiff::Timestamp::now);
        let result = store.ingest(&items, &extra, now).await;
        for p in batch {
            let _ = p.done.send(result.clone());
        }
    }
}
