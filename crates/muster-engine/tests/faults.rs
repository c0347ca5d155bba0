//! Faults: a receiver that accepts a page and never answers holds up no other page, and its page
//! is retried with the failure recorded.

use jiff::Timestamp;
use muster_core::contact::{ChannelSpec, ChannelType, ContactSpec, ContactType};
use muster_core::engage::PageStatus;
use muster_core::incident::{Impact, StartRequest, prepare_start};
use muster_core::plan::{IncidentTemplate, ResponsePlanSpec};
use muster_core::{Clock, ManualClock};
use muster_engine::{Engine, EngineConfig, ProviderConfig};
use muster_notify::testing::HttpSink;
use muster_store::testing::fresh_url;
use muster_store::{Backend, SqlStore, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Accepts connections, reads nothing back, answers nothing; tells whether any is still held.
struct Hung {
    url: String,
    accepted: Arc<AtomicUsize>,
    holding: Arc<AtomicBool>,
}

async fn hung_receiver() -> Hung {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (accepted, holding) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let (a, h) = (accepted.clone(), holding.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            h.store(true, Ordering::SeqCst);
            let h = h.clone();
            tokio::spawn(async move {
                // Hold the connection until the client gives up and closes it.
                let mut buf = [0u8; 4096];
                loop {
                    match tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                h.store(false, Ordering::SeqCst);
            });
        }
    });
    Hung { url, accepted, holding }
}

async fn a_hanging_receiver_holds_nothing_up(backend: Backend) {
    let Some(url) = fresh_url(backend).await else { return };
    let store = Arc::new(SqlStore::connect(&url).await.expect("store"));
    let t0: Timestamp = "2026-11-30T09:00:00Z".parse().expect("valid");
    let clock = Arc::new(ManualClock::new(t0));
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        &ProviderConfig::default(),
        EngineConfig { handoff_notice_minutes: 0, ..Default::default() },
    )
    .await
    .expect("engine");
    let hung = hung_receiver().await;
    let sink = HttpSink::start().await;
    for (alias, address) in [("stuck", hung.url.clone()), ("fine", format!("{}/fine", sink.base))] {
        let spec = ContactSpec {
            alias: alias.into(),
            display_name: None,
            kind: ContactType::Personal,
            time_zone: None,
            rotations: vec![],
            plan: None,
        };
        let c = store.create_contact(&spec, t0).await.expect("contact");
        let ch = ChannelSpec { name: "hook".into(), kind: ChannelType::Webhook, address, defer_activation: false };
        store.add_channel(&c.id, &ch, true, t0).await.expect("channel");
    }
    let plan = ResponsePlanSpec {
        name: "both".into(),
        display_name: None,
        incident_template: IncidentTemplate {
            title: "Outage".into(),
            impact: Impact::try_from(1).expect("valid"),
            summary: None,
            dedupe_string: None,
            tags: Default::default(),
        },
        chat_channels: vec![],
        engagements: vec!["stuck".into(), "fine".into()],
        actions: vec![],
        integrations: serde_json::Value::Null,
        maintenance: Vec::new(),
    };
    let plan = store.create_plan(&plan, t0).await.expect("plan");
    let new = prepare_start(StartRequest::default(), Some(&plan), "test", clock.now()).expect("valid");
    let incident = store.start_incident(new).await.expect("start").into_incident();

    let engine = Arc::new(engine);
    let running = tokio::spawn({
        let engine = engine.clone();
        async move {
            // Engagements first, then the pages they decide.
            for _ in 0..3 {
                engine.run_due().await.expect("run");
            }
        }
    });
    // The good page arrives while the other is still held open by the hung receiver.
    let mut delivered_while_hung = false;
    for _ in 0..200 {
        if sink.count().await == 1 && hung.holding.load(Ordering::SeqCst) {
            delivered_while_hung = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(delivered_while_hung, "the page to fine went out while stuck's receiver hung");
    running.await.expect("the engine gave up on the hung receiver");
    assert_eq!(hung.accepted.load(Ordering::SeqCst), 1);
    let pages = store.list_pages(Some(&incident.id), None).await.expect("pages");
    let stuck = pages.iter().find(|p| p.contact == "stuck").expect("stuck paged");
    let fine = pages.iter().find(|p| p.contact == "fine").expect("fine paged");
    assert_eq!(fine.status, PageStatus::Delivered, "a webhook that answers 2xx is delivered");
    assert_eq!(stuck.status, PageStatus::Pending, "a timeout is retried, not given up: {stuck:?}");
    assert_eq!(stuck.attempts, 1);
    assert!(stuck.last_error.as_deref().is_some_and(|e| e.contains("timed out") || e.contains("timeout")), "{stuck:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_hanging_receiver_holds_nothing_up() {
    a_hanging_receiver_holds_nothing_up(Backend::Sqlite).await;
}
