//! `fairslot-server monitor`: a check of a deployment's open ledger that anyone can run, trusting
//! nothing but the verifier key they were given.
//!
//! Each round it takes the latest checkpoint and checks its signature; proves that it extends
//! the checkpoint kept from the round before (in the state file), or finds that history was
//! rewritten; reads every entry and recomputes the root the checkpoint states; and prints the
//! per-channel figures recomputed from those entries. Any failure of a check is reported in plain
//! words and ends the monitor with status 1; a deployment it cannot reach, with status 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration as StdDuration;

use chrono::TimeDelta;
use fairslot_core::ledger::figures::Figures;
use fairslot_core::ledger::{
    Checkpoint, EntriesAnswer, LedgerError, NoteVerifier, ProofAnswer, Served, audit,
    next_entries_path,
};

/// What the monitor is told on the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    /// The deployment's API base, e.g. `https://booking.example/api/v1`.
    #[arg(long)]
    pub url: String,
    /// The ledger's verifier key (`origin+id+key`), as the deployment published it. Without it,
    /// the key the server names on the first round is kept in the state file and held to after.
    #[arg(long)]
    pub key: Option<String>,
    /// Where the last verified checkpoint (and the key) are kept between rounds.
    #[arg(long, default_value = "ledger-monitor.state")]
    pub state: PathBuf,
    /// Check again every this many seconds, until stopped; without it, check once.
    #[arg(long)]
    pub watch: Option<u64>,
    /// Minutes after a release that count as its rush, for the per-channel figures.
    #[arg(long, default_value_t = 10)]
    pub early_minutes: i64,
}

/// Why a round did not verify.
#[derive(Debug, thiserror::Error)]
enum Finding {
    #[error("the deployment could not be asked: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("the state file {0} cannot be used: {1}")]
    State(PathBuf, String),
}

struct State {
    key: String,
    note: Option<String>,
}

fn read_state(path: &Path) -> Result<Option<State>, Finding> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Finding::State(path.into(), e.to_string())),
    };
    let (key, note) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    Ok(Some(State {
        key: key.to_string(),
        note: (!note.is_empty()).then(|| note.to_string()),
    }))
}

fn write_state(path: &Path, key: &str, note: &str) -> Result<(), Finding> {
    let draft = path.with_extension("draft");
    std::fs::write(&draft, format!("{key}\n{note}"))
        .and_then(|()| std::fs::rename(&draft, path))
        .map_err(|e| Finding::State(path.into(), e.to_string()))
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn get(&self, path: &str) -> Result<reqwest::Response, Finding> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| Finding::Unreachable(e.to_string()))?;
        Ok(response)
    }

    async fn text(&self, path: &str) -> Result<String, Finding> {
        let response = self.get(path).await?;
        if !response.status().is_success() {
            return Err(Finding::Unreachable(format!(
                "{path}: status {}",
                response.status()
            )));
        }
        response
            .text()
            .await
            .map_err(|e| Finding::Unreachable(e.to_string()))
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, Finding> {
        serde_json::from_str(&self.text(path).await?)
            .map_err(|e| Finding::Unreachable(format!("{path}: {e}")))
    }
}

/// One round: what the ledger shows now, or why it cannot be trusted.
async fn round(client: &Client, args: &MonitorArgs) -> Result<(Checkpoint, Figures), Finding> {
    let kept = read_state(&args.state)?;
    let key = match (&args.key, &kept) {
        (Some(key), _) => key.clone(),
        (None, Some(state)) => state.key.clone(),
        (None, None) => client.text("/ledger/key").await?.trim().to_string(),
    };
    let verifier = NoteVerifier::parse(&key)?;
    let note = client.text("/ledger/checkpoint").await?;
    let latest = verifier.open(&note)?;
    let kept_note = kept.and_then(|s| s.note);
    let mut consistency = None;
    if let Some(old) = kept_note.as_deref() {
        let old = verifier.open(old)?;
        let response = client
            .get(&format!("/ledger/consistency?first={}", old.size))
            .await?;
        if response.status() != reqwest::StatusCode::NOT_FOUND {
            let body = response
                .text()
                .await
                .map_err(|e| Finding::Unreachable(e.to_string()))?;
            let proof: ProofAnswer =
                serde_json::from_str(&body).map_err(|e| Finding::Unreachable(e.to_string()))?;
            consistency = Some(proof);
        }
    }
    // Every entry up to the larger of the two checkpoints; the audit takes what it needs.
    let size = consistency
        .as_ref()
        .map_or(latest.size, |p| p.size.max(latest.size));
    let mut leaves: Vec<String> = Vec::new();
    while let Some(path) = next_entries_path(leaves.len() as u64, size) {
        let page: EntriesAnswer = client.json(&path).await?;
        if page.start != leaves.len() as u64 || page.entries.is_empty() {
            break;
        }
        leaves.extend(page.entries);
    }
    let audited = audit(
        &verifier,
        kept_note.as_deref(),
        Served {
            checkpoint: &note,
            consistency: consistency.as_ref(),
            leaves: &leaves,
        },
        TimeDelta::minutes(args.early_minutes),
    )?;
    write_state(&args.state, &key, &audited.note)?;
    Ok((audited.checkpoint, audited.figures))
}

fn report(checkpoint: &Checkpoint, figures: &Figures, early_minutes: i64) {
    println!(
        "ledger {} verified: {} entries, {} sessions released with {} places",
        checkpoint.origin, checkpoint.size, figures.sessions_released, figures.places_released
    );
    let booked: u64 = figures.channels.iter().map(|c| c.booked).sum();
    println!(
        "channel              booked  share  in first {early_minutes} min  median after release  cancelled"
    );
    for c in &figures.channels {
        let share = if booked == 0 {
            0.0
        } else {
            100.0 * c.booked as f64 / booked as f64
        };
        let median = c
            .median_seconds_after_release
            .map_or_else(|| "-".to_string(), |s| format!("{s} s"));
        println!(
            "{:<20} {:>6} {:>5.1}% {:>16} {:>21} {:>10}",
            c.channel, c.booked, share, c.early, median, c.cancelled
        );
    }
}

/// Runs the monitor; see the module's documentation for its exit status.
pub async fn run(args: &MonitorArgs) -> ExitCode {
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(StdDuration::from_secs(30))
            .build()
            .expect("an HTTP client with default TLS"),
        base: args.url.trim_end_matches('/').to_string(),
    };
    loop {
        match round(&client, args).await {
            Ok((checkpoint, figures)) => report(&checkpoint, &figures, args.early_minutes),
            Err(finding @ Finding::Unreachable(_)) => {
                eprintln!("ledger monitor: {finding}");
                if args.watch.is_none() {
                    return ExitCode::from(2);
                }
            }
            Err(finding) => {
                eprintln!("ledger monitor: NOT VERIFIED: {finding}");
                return ExitCode::from(1);
            }
        }
        match args.watch {
            Some(seconds) => tokio::time::sleep(StdDuration::from_secs(seconds.max(1))).await,
            None => return ExitCode::SUCCESS,
        }
    }
}
