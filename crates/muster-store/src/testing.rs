//! Fresh databases for tests, on both backends.
//!
//! SQLite: a new file in a new temporary folder. PostgreSQL: a new database with a random name on
//! the server named by `MUSTER_TEST_DATABASE_URL`, else on a local server at 127.0.0.1:5432, else on
//! a throwaway cluster started with `initdb`/`pg_ctl` when they are on the machine. Under `CI=true`
//! a missing PostgreSQL is a failure, never a skip.

use crate::Backend;
use sqlx::{AnyConnection, Connection, Executor, Row};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const THROWAWAY_PORT: u16 = 54329;

fn unique() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("{secs}_{}", uuid::Uuid::now_v7().simple().to_string().get(20..).unwrap_or("0"))
}

/// A URL for a new SQLite database file in a fresh temporary folder.
pub fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("muster-test-{}", unique()));
    format!("sqlite://{}", dir.join("muster.db").display())
}

/// The file behind a `sqlite://` URL.
pub fn sqlite_path(url: &str) -> PathBuf {
    PathBuf::from(url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default())
}

async fn answers(url: &str) -> bool {
    sqlx::any::install_default_drivers();
    matches!(tokio::time::timeout(Duration::from_secs(3), AnyConnection::connect(url)).await, Ok(Ok(_)))
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
        .unwrap_or(None);
    on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin").join(name))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (the server refuses root).
fn run_pg(tool: &PathBuf, args: &[&str]) -> bool {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(tool);
        c
    } else {
        Command::new(tool)
    };
    cmd.args(args).output().map(|o| o.status.success()).unwrap_or(false)
}

/// A PostgreSQL cluster of a test's own, which the test may stop and start (fault injection);
/// stopped and removed when dropped.
pub struct PrivateCluster {
    pub url: String,
    dir: PathBuf,
    pg_ctl: PathBuf,
    data: String,
    opts: String,
    log: String,
}

impl PrivateCluster {
    /// Initialises and starts a cluster on `port`; `None` when initdb and pg_ctl are not installed.
    pub async fn start_new(name: &str, port: u16) -> Option<Self> {
        let (initdb, pg_ctl) = (find_tool("initdb")?, find_tool("pg_ctl")?);
        let dir = std::env::temp_dir().join(format!("muster-{name}-{}", unique()));
        std::fs::create_dir_all(&dir).ok()?;
        if is_root() {
            Command::new("chown").args(["-R", "postgres", &dir.to_string_lossy()]).output().ok()?;
        }
        let data = dir.join("data").to_string_lossy().to_string();
        if !run_pg(&initdb, &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"]) {
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        }
        let cluster = Self {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir: dir.clone(),
            pg_ctl,
            opts: format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", dir.display()),
            log: dir.join("log").to_string_lossy().to_string(),
            data,
        };
        cluster.start().await.then_some(cluster)
    }

    /// Starts the stopped cluster; true once it answers.
    pub async fn start(&self) -> bool {
        run_pg(&self.pg_ctl, &["-D", &self.data, "-o", &self.opts, "-l", &self.log, "-w", "start"]);
        answers(&self.url).await
    }

    /// Stops the cluster at once (`-m fast`: sessions are cut).
    pub fn stop(&self) -> bool {
        run_pg(&self.pg_ctl, &["-D", &self.data, "-m", "fast", "-w", "stop"])
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts (or finds running) a throwaway cluster; its admin URL.
async fn throwaway_cluster() -> Option<String> {
    let url = format!("postgres://postgres@127.0.0.1:{THROWAWAY_PORT}/postgres");
    if answers(&url).await {
        return Some(url);
    }
    let (initdb, pg_ctl) = (find_tool("initdb")?, find_tool("pg_ctl")?);
    let dir = std::env::temp_dir().join("muster-test-pgcluster");
    let data = dir.join("data");
    let data_s = data.to_string_lossy().to_string();
    if !data.join("PG_VERSION").exists() {
        std::fs::create_dir_all(&dir).ok()?;
        if is_root() {
            Command::new("chown").args(["-R", "postgres", &dir.to_string_lossy()]).output().ok()?;
        }
        if !run_pg(&initdb, &["-D", &data_s, "-U", "postgres", "-A", "trust", "--no-sync"]) {
            return None;
        }
    }
    let opts = format!("-p {THROWAWAY_PORT} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", dir.display());
    let log = dir.join("log").to_string_lossy().to_string();
    run_pg(&pg_ctl, &["-D", &data_s, "-o", &opts, "-l", &log, "-w", "start"]);
    answers(&url).await.then_some(url)
}

async fn admin_url() -> Option<String> {
    if let Ok(url) = std::env::var("MUSTER_TEST_DATABASE_URL") {
        return Some(url);
    }
    if answers(DEFAULT_ADMIN_URL).await {
        return Some(DEFAULT_ADMIN_URL.to_string());
    }
    throwaway_cluster().await
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

static ADMIN: OnceLock<Option<String>> = OnceLock::new();

/// A URL for a new, empty PostgreSQL database, or `None` when no server is to be had outside CI.
/// Panics under `CI=true` when there is none.
pub async fn postgres_url() -> Option<String> {
    sqlx::any::install_default_drivers();
    let admin = match ADMIN.get() {
        Some(a) => a.clone(),
        None => {
            let a = admin_url().await;
            ADMIN.get_or_init(|| a).clone()
        }
    };
    let Some(admin) = admin else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but no PostgreSQL answers: set MUSTER_TEST_DATABASE_URL or install initdb/pg_ctl");
        }
        eprintln!("note: no PostgreSQL found; PostgreSQL tests are skipped (set MUSTER_TEST_DATABASE_URL)");
        return None;
    };
    let mut conn =
        AnyConnection::connect(&admin).await.unwrap_or_else(|e| panic!("cannot connect to test PostgreSQL: {e}"));
    drop_stale(&mut conn).await;
    let name = format!("muster_test_{}", unique());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE failed: {e}"));
    Some(with_database(&admin, &name))
}

/// Drops test databases older than an hour that nobody is connected to, so runs do not pile up.
async fn drop_stale(conn: &mut AnyConnection) {
    let Ok(rows) =
        sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'muster_test_%'").fetch_all(&mut *conn).await
    else {
        return;
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    for row in rows {
        let Ok(name) = row.try_get::<String, _>(0) else { continue };
        let created: u64 =
            name.trim_start_matches("muster_test_").split('_').next().and_then(|s| s.parse().ok()).unwrap_or(now);
        if now.saturating_sub(created) > 3600 {
            let _ = conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str()).await;
        }
    }
}

/// A fresh database URL for a backend; `None` only for PostgreSQL outside CI with no server.
pub async fn fresh_url(backend: Backend) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(sqlite_url()),
        Backend::Postgres => postgres_url().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
    }
}
