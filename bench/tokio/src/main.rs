//! Tokio on the workloads of Dokio's bench rows, one workload per process.
//!
//! usage: dokio-tokio-bench <ct|mt> <workload> [numbers…]
//!
//! `ct` is the current_thread runtime, `mt` multi_thread with 2 workers.
//! Every workload runs as a spawned task (as a Dokio `run()` body does) and
//! prints one JSON line `{"ms":…,"heapMB":…,"check":…}`. The task and sync
//! workloads run once untimed first (Dokio's are timed in a warm process);
//! the timer workloads run once, in a fresh process, as Dokio's do. `echo`
//! serves instead and prints `listening on 127.0.0.1:PORT`.

mod alloc;
mod echo;
mod sync;
mod tasks;
mod timers;

use std::future::Future;
use std::time::Instant;
use tokio::runtime::{Builder, Runtime};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// Workers of the multi_thread flavour (the machine has two cores).
const MT_WORKERS: usize = 2;

fn runtime(flavor: &str) -> Runtime {
    let mut b = match flavor {
        "ct" => Builder::new_current_thread(),
        "mt" => {
            let mut b = Builder::new_multi_thread();
            b.worker_threads(MT_WORKERS);
            b
        }
        _ => usage(&format!("unknown flavour {flavor}")),
    };
    b.enable_all().build().expect("runtime")
}

fn usage(why: &str) -> ! {
    eprintln!("dokio-tokio-bench: {why}\nusage: dokio-tokio-bench <ct|mt> <workload> [numbers…]");
    std::process::exit(2)
}

fn report(ms: f64, heap: Option<isize>, check: u64) {
    let heap_mb = heap.map_or("null".to_string(), |b| format!("{}", b as f64 / 1048576.0));
    println!("{{\"ms\":{ms},\"heapMB\":{heap_mb},\"check\":{check}}}");
}

/// Run `f()` once untimed, then once timed, each as a spawned task.
fn warm_then_time<F, Fut>(rt: &Runtime, f: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = u64> + Send + 'static,
{
    rt.block_on(rt.spawn(f())).unwrap();
    let t = Instant::now();
    let check = rt.block_on(rt.spawn(f())).unwrap();
    report(t.elapsed().as_secs_f64() * 1e3, None, check);
}

/// Run a timer workload once, timed, as a spawned task.
fn time_once<Fut>(rt: &Runtime, fut: Fut)
where
    Fut: Future<Output = timers::Out> + Send + 'static,
{
    let t = Instant::now();
    let out = rt.block_on(rt.spawn(fut)).unwrap();
    report(t.elapsed().as_secs_f64() * 1e3, Some(out.heap), out.check);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        usage("missing arguments");
    }
    let n: Vec<u64> = args[2..]
        .iter()
        .map(|a| {
            a.parse()
                .unwrap_or_else(|_| usage(&format!("not a number: {a}")))
        })
        .collect();
    let arg = |i: usize| *n.get(i).unwrap_or_else(|| usage("missing a number"));
    let workload = args[1].as_str();
    if workload.starts_with("sleep_") || workload.starts_with("timer_") {
        alloc::enable();
    }
    let rt = runtime(&args[0]);
    match workload {
        "spawn_join" => warm_then_time(&rt, || tasks::spawn_join(arg(0))),
        "yields" => warm_then_time(&rt, || tasks::yields(arg(0), arg(1))),
        "chain" => warm_then_time(&rt, || tasks::chain(arg(0))),
        "ping_pong" => warm_then_time(&rt, || tasks::ping_pong(arg(0))),
        "mpsc" => warm_then_time(&rt, || sync::mpsc_sum(arg(0), arg(1), arg(2))),
        "oneshot" => warm_then_time(&rt, || sync::oneshot_rr(arg(0))),
        "actor" => warm_then_time(&rt, || sync::actor_ping_pong(arg(0))),
        "mutex" => warm_then_time(&rt, || sync::mutex(arg(0), arg(1), arg(2) != 0)),
        "semaphore" => warm_then_time(&rt, || sync::semaphore(arg(0), arg(1), arg(2), arg(3) != 0)),
        "sleep_tasks" => time_once(&rt, timers::sleep_tasks(arg(0))),
        "timer_entries" => time_once(&rt, timers::timer_entries(arg(0))),
        "timer_cancel" => time_once(&rt, timers::timer_cancel(arg(0))),
        "echo" => rt.block_on(rt.spawn(echo::serve(arg(0) as u16))).unwrap(),
        _ => usage(&format!("unknown workload {workload}")),
    }
}
