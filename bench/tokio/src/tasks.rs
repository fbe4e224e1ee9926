//! Task workloads, each the shape of a Dokio row in bench/runtime_bench.ts:
//! spawn+join, yields, chained spawn, ping_pong.

use std::future::Future;
use std::pin::Pin;

/// Spawn `n` tasks that return their index, then join them in order.
pub async fn spawn_join(n: u64) -> u64 {
    let mut handles = Vec::with_capacity(n as usize);
    for i in 0..n {
        handles.push(tokio::spawn(async move { i }));
    }
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    sum
}

async fn yielder(n: u64) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

/// `tasks` tasks that each yield `per` times, joined.
pub async fn yields(tasks: u64, per: u64) -> u64 {
    let handles: Vec<_> = (0..tasks).map(|_| tokio::spawn(yielder(per))).collect();
    for h in handles {
        h.await.unwrap();
    }
    tasks * per
}

/// A chain `depth` deep: each task spawns the next and joins it.
pub fn chain(depth: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            0
        } else {
            1 + tokio::spawn(chain(depth - 1)).await.unwrap()
        }
    })
}

/// `rounds` times: spawn a task, spawn a second that joins the first, join the second.
pub async fn ping_pong(rounds: u64) -> u64 {
    let mut sum = 0;
    for r in 0..rounds {
        let a = tokio::spawn(async move { r });
        let b = tokio::spawn(async move { a.await.unwrap() });
        sum += b.await.unwrap();
    }
    sum
}
