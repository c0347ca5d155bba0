//! `muster demo`: the server on a fresh temporary SQLite database with the reference scenario (a
//! site-to-site VPN tunnel that goes down) applied, and simulated tunnel data flowing, so a
//! newcomer sees an alarm open an incident within a minute. The demo drives its own server through
//! the public HTTP API, as a user's tools would.

use anyhow::Context;
use clap::Args;
use muster_server::{Application, Config};
use serde_json::{Value, json};
use std::time::Duration;

/// The reference scenario, exactly as published.
const TEMPLATE: &str = include_str!("../../muster-template/tests/fixtures/vpn-tunnel-down.cfn.yaml");
const VPN: &str = "vpn-0123456789abcdef0";

#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Seconds between simulated datapoints.
    #[arg(long, default_value_t = 10, hide = true)]
    interval_seconds: u64,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    crate::serve::init_logging("text")?;
    let dir = std::env::temp_dir().join(format!("muster-demo-{}", muster_core::new_id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let token = muster_server::auth::generate_secret();
    let config = Config {
        listen: args.listen.clone(),
        database_url: format!("sqlite://{}", dir.join("muster.db").display()),
        admin_token: Some(token.clone()),
        public_url: None,
        ..Config::default()
    };
    let app = Application::build(config).await?;
    let addr = app.address()?;
    let base = format!("http://{addr}");
    tokio::spawn(simulate(base.clone(), token.clone(), Duration::from_secs(args.interval_seconds.max(1))));
    println!("muster {} demo listening on {base}", env!("CARGO_PKG_VERSION"));
    println!("  database: {} (temporary)", dir.display());
    println!("  MUSTER_SERVER={base} MUSTER_TOKEN={token}");
    println!("The reference scenario is applied: a CloudWatch-style alarm on the VPN tunnel {VPN} opens");
    println!("an incident from its response plan when the tunnel reports down. Try, in another shell:");
    println!("  export MUSTER_SERVER={base} MUSTER_TOKEN={token}");
    println!("  muster alarm list; muster incident list; muster incident show 1; muster runbook executions");
    let result = app.run_until_stopped(crate::serve::shutdown_signal()).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Applies the scenario, then reports the tunnel up, then down (the alarm fires), then up again.
async fn simulate(base: String, token: String, every: Duration) {
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}/api/v1{path}")).bearer_auth(&token).json(&body).send()
    };
    let stack = json!({"template": TEMPLATE, "parameters": {"VpnConnectionId": VPN}});
    match call(reqwest::Method::PUT, "/stacks/vpn", stack).await {
        Ok(r) if r.status().is_success() => println!("[demo] applied vpn-tunnel-down.cfn.yaml as stack vpn"),
        Ok(r) => {
            eprintln!("[demo] applying the scenario failed: {}", r.text().await.unwrap_or_default());
            return;
        }
        Err(e) => {
            eprintln!("[demo] cannot reach the server: {e}");
            return;
        }
    }
    let states = [1, 1, 1, 0, 0, 0, 0, 0, 0].into_iter().chain(std::iter::repeat(1));
    let mut last = None;
    for state in states {
        let data = json!({"namespace": "AWS/VPN", "metricData": [{"metricName": "TunnelState",
            "dimensions": [{"name": "VpnId", "value": VPN}], "value": state}]});
        if call(reqwest::Method::POST, "/metrics", data).await.is_err() {
            return;
        }
        if last != Some(state) {
            println!(
                "[demo] tunnel {VPN} reports {}",
                if state == 1 { "UP (TunnelState 1)" } else { "DOWN (TunnelState 0): the alarm opens an incident" }
            );
            last = Some(state);
        }
        tokio::time::sleep(every).await;
    }
}
