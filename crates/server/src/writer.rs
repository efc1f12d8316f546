//! Group commit between the ingest handlers and the store.
//!
//! Handlers do not write: they hand their rows to one writer thread through a
//! bounded queue and wait for its answer. The writer takes every batch that
//! is waiting, commits them in one transaction, and only then answers each
//! handler. So an acknowledged batch is durable, and under load many requests
//! share one commit instead of queueing for one each. When the queue is full
//! a handler hears so at once (the server answers 503 with `Retry-After`)
//! rather than the queue growing without bound.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use crate::store::{IngestStore, StoreError, StoredEvent, WriteOutcome};

/// Batches that may wait for the writer before new ones are refused.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// Most events committed in one transaction; what is left waits for the next.
const MAX_GROUP_EVENTS: usize = 20_000;

/// Why a batch was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the write queue is full; try again shortly")]
    Busy,
    #[error("the writer has stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Job {
    rows: Vec<StoredEvent>,
    done: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

/// The handlers' side of the queue; cheap to share.
#[derive(Debug)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
    capacity: usize,
}

/// The writer thread. It stops once every [`Writer`] is dropped and the queue
/// is drained; [`WriterThread::join`] waits for that.
#[derive(Debug)]
pub struct WriterThread(JoinHandle<()>);

impl Writer {
    /// Starts the writer thread for `store`, with room for `capacity` waiting batches.
    pub fn start(
        store: Arc<dyn IngestStore>,
        capacity: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Writer, WriterThread)> {
        let (queue, jobs) = mpsc::channel(capacity.max(1));
        let thread = std::thread::Builder::new()
            .name("sonde-writer".into())
            .spawn(move || run(store.as_ref(), jobs, &metrics))?;
        Ok((Writer { queue, capacity }, WriterThread(thread)))
    }

    /// Queues `rows` and waits until they are committed.
    pub async fn write(&self, rows: Vec<StoredEvent>) -> Result<WriteOutcome, WriteError> {
        let (done, answer) = oneshot::channel();
        self.queue
            .try_send(Job { rows, done })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => WriteError::Busy,
                mpsc::error::TrySendError::Closed(_) => WriteError::Stopped,
            })?;
        Ok(answer.await.map_err(|_| WriteError::Stopped)??)
    }

    /// Whether the writer thread still takes batches.
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }

    /// Batches waiting for the writer now.
    pub fn depth(&self) -> usize {
        self.capacity - self.queue.capacity()
    }
}

impl WriterThread {
    /// Waits until the writer has committed everything queued and stopped.
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("the writer thread panicked");
        }
    }
}

fn run(store: &dyn IngestStore, mut jobs: mpsc::Receiver<Job>, metrics: &Metrics) {
    while let Some(first) = jobs.blocking_recv() {
        let mut events = first.rows.len();
        let mut group = vec![first];
        while events < MAX_GROUP_EVENTS {
            let Ok(job) = jobs.try_recv() else { break };
            events += job.rows.len();
            group.push(job);
        }
        commit(store, group, metrics);
    }
}

/// Commits a group and answers each of its handlers. When the group fails,
/// each batch is tried alone, so one batch the store refuses does not take
/// the others down with it.
fn commit(store: &dyn IngestStore, group: Vec<Job>, metrics: &Metrics) {
    let started = Instant::now();
    let batches: Vec<&[StoredEvent]> = group.iter().map(|j| j.rows.as_slice()).collect();
    let outcomes = store.write_batches(&batches);
    metrics.commit(started.elapsed(), group.len());
    match outcomes {
        Ok(outcomes) => {
            for (job, outcome) in group.into_iter().zip(outcomes) {
                let _ = job.done.send(Ok(outcome));
            }
        }
        // The store cannot take any write now: trying the batches one by
        // one would only make each wait as long again.
        Err(StoreError::Unavailable(reason)) => {
            for job in group {
                let _ = job.done.send(Err(StoreError::Unavailable(reason.clone())));
            }
        }
        Err(e) if group.len() > 1 => {
            tracing::warn!(error = %e, batches = group.len(), "a group commit failed; writing its batches one by one");
            for job in group {
                let _ = job.done.send(store.write(&job.rows));
            }
        }
        Err(e) => {
            if let Some(job) = group.into_iter().next() {
                let _ = job.done.send(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sonde_protocol::EventData;

    use std::time::Duration;

    use super::*;
    use crate::store::{DuckDbStore, StoreInspection};
    use crate::user_agent::{Device, Software};

    fn view(id: &str) -> StoredEvent {
        StoredEvent {
            id: id.into(),
            site: "shop".into(),
            ts: 1_764_000_000_000,
            visitor_id: 1,
            session_id: None,
            path: "/".into(),
            software: Software {
                browser: "Firefox".into(),
                os: "Linux".into(),
                device: Device::Desktop,
            },
            data: EventData::PageView {
                referrer: None,
                title: None,
                campaign: Default::default(),
            },
        }
    }

    async fn until(mut condition: impl FnMut() -> bool) {
        for _ in 0..500 {
            if condition() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("timed out");
    }

    type Pending = tokio::task::JoinHandle<Result<WriteOutcome, WriteError>>;

    /// Sends `rows` from a task of its own; on return they are in the queue
    /// (this test runtime runs the task as soon as the test yields).
    async fn send(writer: &Arc<Writer>, rows: Vec<StoredEvent>) -> Pending {
        let writer = Arc::clone(writer);
        let pending = tokio::spawn(async move { writer.write(rows).await });
        tokio::task::yield_now().await;
        pending
    }

    /// Waits until the writer has taken everything queued and is inside its
    /// commit (which the held store lock stalls).
    async fn taken(writer: &Writer) {
        until(|| writer.depth() == 0).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The held lock stalls the writer thread, not this task: that is the point.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_what_was_queued_is_still_written() {
        let store = Arc::new(DuckDbStore::in_memory().unwrap());
        let metrics = Arc::new(Metrics::default());
        let (writer, thread) =
            Writer::start(Arc::clone(&store) as Arc<dyn IngestStore>, 1, metrics).unwrap();
        let writer = Arc::new(writer);
        let busy = store.hold();
        // The writer takes the first batch and waits for the store; the
        // second fills the queue; the third finds no room.
        let first = send(&writer, vec![view("a")]).await;
        taken(&writer).await;
        let second = send(&writer, vec![view("b"), view("a")]).await;
        assert_eq!(writer.depth(), 1);
        assert!(matches!(
            writer.write(vec![view("c")]).await,
            Err(WriteError::Busy)
        ));
        drop(busy);
        let first = first.await.unwrap().unwrap();
        let second = second.await.unwrap().unwrap();
        assert_eq!((first.inserted, first.duplicates), (1, 0));
        assert_eq!((second.inserted, second.duplicates), (1, 1));
        assert_eq!(store.event_count("shop").unwrap(), 2);
        drop(writer);
        thread.join();
    }

    #[allow(clippy::await_holding_lock)]
    #[tokio::test]
    async fn batches_waiting_together_share_one_commit_and_each_gets_its_own_counts() {
        let store = Arc::new(DuckDbStore::in_memory().unwrap());
        let metrics = Arc::new(Metrics::default());
        let (writer, thread) = Writer::start(
            Arc::clone(&store) as Arc<dyn IngestStore>,
            16,
            Arc::clone(&metrics),
        )
        .unwrap();
        let writer = Arc::new(writer);
        let busy = store.hold();
        let blocker = send(&writer, vec![view("x")]).await;
        taken(&writer).await;
        let waiting = [
            send(&writer, vec![view("p"), view("q")]).await,
            send(&writer, vec![view("q"), view("r")]).await,
        ];
        assert_eq!(writer.depth(), 2);
        drop(busy);
        blocker.await.unwrap().unwrap();
        let mut outcomes = Vec::new();
        for w in waiting {
            let o = w.await.unwrap().unwrap();
            outcomes.push((o.inserted, o.duplicates));
        }
        // "q" is new in the first of the two batches, a repeat in the second.
        assert_eq!(outcomes, [(2, 0), (1, 1)]);
        assert_eq!(store.event_count("shop").unwrap(), 4);
        // Two commits: the blocker alone, then the two waiting batches.
        let rendered = metrics.render(Default::default());
        assert!(
            rendered.contains("sonde_batches_per_commit_count 2"),
            "{rendered}"
        );
        assert!(
            rendered.contains("sonde_batches_per_commit_sum 3"),
            "{rendered}"
        );
        drop(writer);
        thread.join();
    }
}
