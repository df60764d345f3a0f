//! `cabinet bench`'s smoke: a short run of both bots through the harness, checking only that
//! every update is answered once and the report is whole (speed is the benchmark's to
//! measure, never a test's).

use std::path::PathBuf;

use cabinet::bench::{self, BenchOptions, Scenario, Target};

fn smoke(scenario: Scenario, targets: Vec<Target>) -> BenchOptions {
    BenchOptions {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_cabinet")),
        targets,
        customers: 60,
        updates: 300,
        scenario,
        ..BenchOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_smoke_answers_every_update_once_for_both_bots() {
    let report = bench::run(&smoke(Scenario::Balance, vec![Target::Cabinet, Target::Echo])).await.unwrap();
    let table = report.table();
    assert!(report.correct(), "{table}");
    assert_eq!(report.targets.len(), 2, "{table}");
    for target in &report.targets {
        assert_eq!(target.bursts.len(), 1, "{table}");
        let burst = &target.bursts[0];
        assert_eq!((burst.updates, burst.answered, burst.missing, burst.twice), (300, 300, 0, 0), "{table}");
        assert!(burst.latencies.p50 <= burst.latencies.max, "{table}");
        assert_eq!(target.replies_per_update, 1, "{table}");
    }
    assert!(report.ratio().is_some(), "{table}");
    assert!(table.contains("| cabinet | balance | unpaced |"), "{table}");
    assert!(table.contains("| echo | balance | unpaced |"), "{table}");
    assert!(table.contains("cabinet/echo throughput"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_smoke_paced_order_status_in_two_bursts() {
    let opts = BenchOptions {
        rate: Some(200),
        duration: std::time::Duration::from_secs(1),
        bursts: 2,
        ..smoke(Scenario::Order, vec![Target::Cabinet])
    };
    let report = bench::run(&opts).await.unwrap();
    let table = report.table();
    assert!(report.correct(), "{table}");
    let bursts = &report.targets[0].bursts;
    assert_eq!(bursts.len(), 2, "{table}");
    assert!(bursts.iter().all(|b| b.updates == 200 && b.answered == 200), "{table}");
    assert!(table.contains("| cabinet | order | 200/s |"), "{table}");
}
