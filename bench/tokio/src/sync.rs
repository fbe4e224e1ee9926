//! Channel and lock workloads, each the shape of a Dokio row in
//! bench/sync_bench.ts.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex, Semaphore};

/// `producers` tasks send `total` numbers in all over one bounded channel
/// of `cap`; this task receives and sums them.
pub async fn mpsc_sum(total: u64, producers: u64, cap: u64) -> u64 {
    let (tx, mut rx) = mpsc::channel::<u64>(cap as usize);
    let per = total / producers;
    for _ in 0..producers {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..per {
                tx.send(i).await.unwrap();
            }
        });
    }
    drop(tx);
    let mut sum = 0;
    while let Some(v) = rx.recv().await {
        sum += v;
    }
    sum
}

/// Request/response to an actor: each request carries a fresh oneshot
/// sender over a channel of 1; the actor answers on it.
pub async fn oneshot_rr(rounds: u64) -> u64 {
    let (req_tx, mut req_rx) = mpsc::channel::<oneshot::Sender<u64>>(1);
    tokio::spawn(async move {
        let mut i = 0;
        while let Some(reply) = req_rx.recv().await {
            let _ = reply.send(i);
            i += 1;
        }
    });
    let mut sum = 0;
    for _ in 0..rounds {
        let (tx, rx) = oneshot::channel();
        req_tx.send(tx).await.unwrap();
        sum += rx.await.unwrap();
    }
    sum
}

/// Two tasks, two channels of 1: this task sends a number, the other sends
/// it back plus one.
pub async fn actor_ping_pong(rounds: u64) -> u64 {
    let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
    tokio::spawn(async move {
        while let Some(v) = ping_rx.recv().await {
            if pong_tx.send(v + 1).await.is_err() {
                break;
            }
        }
    });
    let mut sum = 0;
    for r in 0..rounds {
        ping_tx.send(r).await.unwrap();
        sum += pong_rx.recv().await.unwrap();
    }
    sum
}

/// `tasks` tasks each lock a shared counter `per` times (holding it across
/// a yield when `hold`); returns the count.
pub async fn mutex(tasks: u64, per: u64, hold: bool) -> u64 {
    let m = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move {
                for _ in 0..per {
                    let mut g = m.lock().await;
                    *g += 1;
                    if hold {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let n = *m.lock().await;
    assert_eq!(n, tasks * per, "mutex bench miscounted");
    n
}

/// `tasks` tasks each take one of `permits` permits `per` times (holding
/// it across a yield when `hold`).
pub async fn semaphore(tasks: u64, per: u64, permits: u64, hold: bool) -> u64 {
    let s = Arc::new(Semaphore::new(permits as usize));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                for _ in 0..per {
                    let _p = s.acquire().await.unwrap();
                    if hold {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    tasks * per
}
