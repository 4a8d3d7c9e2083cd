//! The report: one row per workload, as Markdown (for BENCHMARKS.md) or
//! JSON (for scripts and the smoke test).

use std::fmt::Write;

use serde::Serialize;

use crate::export::ExportFigures;
use crate::fairness::FairnessFigures;
use crate::heavy::HeavyFigures;
use crate::load::{Figures, Shape};
use crate::seed::{Fixture, Plan};
use crate::workloads::Workload;

/// What a workload measured.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measured {
    Load(Figures),
    Export(ExportFigures),
    Heavy(HeavyFigures),
    Fairness(FairnessFigures),
    /// Not measured, and why.
    Unavailable(String),
}

/// One workload's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub workload: &'static str,
    pub letter: char,
    pub what: &'static str,
    pub measured: Measured,
    /// The server's peak RSS during the workload, in KiB.
    pub peak_rss_kib: Option<u64>,
    /// Server CPU time (user + system) per request, in microseconds,
    /// warm-up included: robust to other load on the machine.
    pub server_cpu_us: Option<f64>,
    /// Throughput as a fraction of the ceiling's, when both were measured.
    pub ratio_to_ceiling: Option<f64>,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub database: &'static str,
    pub users: usize,
    pub groups: usize,
    pub push_group_members: usize,
    pub connections: usize,
    pub warmup_seconds: f64,
    pub duration_seconds: f64,
    /// Seconds spent seeding, or `None` when an earlier run's tenant was reused.
    pub seeded_in_seconds: Option<f64>,
    /// The server's RSS after start, before any load, in KiB.
    pub idle_rss_kib: Option<u64>,
    /// SQLite's `synchronous` on the server.
    pub sqlite_synchronous: &'static str,
    /// Half-header sockets held open during the workloads.
    pub half_header_sockets: usize,
    /// Stalled readers of a 1,000-user page held during every workload.
    pub stalled_readers: usize,
    pub rows: Vec<Row>,
}

impl Report {
    /// An empty report of this run.
    pub fn new(database_url: &str, plan: &Plan, fixture: &Fixture, shape: Shape) -> Report {
        Report {
            database: if database_url.starts_with("sqlite:") {
                "SQLite"
            } else {
                "PostgreSQL"
            },
            users: plan.users,
            groups: plan.groups,
            push_group_members: plan.push_members,
            connections: shape.connections,
            warmup_seconds: shape.warmup.as_secs_f64(),
            duration_seconds: shape.duration.as_secs_f64(),
            seeded_in_seconds: fixture.seeded_in,
            idle_rss_kib: None,
            sqlite_synchronous: "full",
            half_header_sockets: 0,
            stalled_readers: 0,
            rows: Vec::new(),
        }
    }

    /// Adds a workload's figures and refreshes every ratio to the ceiling.
    pub fn add(
        &mut self,
        workload: Workload,
        measured: Measured,
        peak_rss_kib: Option<u64>,
        server_cpu_seconds: Option<f64>,
    ) {
        let server_cpu_us = match (&measured, server_cpu_seconds) {
            (Measured::Load(figures), Some(cpu)) if figures.sent > 0 => {
                Some(cpu * 1e6 / figures.sent as f64)
            }
            (Measured::Export(export), Some(cpu)) if export.users > 0 => {
                Some(cpu * 1e6 / export.pages as f64)
            }
            _ => None,
        };
        self.rows.push(Row {
            workload: workload.name(),
            letter: workload.letter(),
            what: workload.describe(),
            measured,
            peak_rss_kib,
            server_cpu_us,
            ratio_to_ceiling: None,
        });
        let ceiling = self.rows.iter().find_map(|row| match &row.measured {
            Measured::Load(figures) if row.letter == Workload::Ceiling.letter() => {
                Some(figures.per_second)
            }
            Measured::Load(_)
            | Measured::Export(_)
            | Measured::Heavy(_)
            | Measured::Fairness(_)
            | Measured::Unavailable(_) => None,
        });
        for row in &mut self.rows {
            row.ratio_to_ceiling = match (&row.measured, ceiling) {
                (Measured::Load(figures), Some(ceiling)) if ceiling > 0.0 => {
                    Some(figures.per_second / ceiling)
                }
                _ => None,
            };
        }
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}{}, {} users, {} groups (push group: {} members), C = {}, {} s measured after {} s warm-up{}{}; server RSS idle {}\n",
            self.database,
            if self.database == "SQLite" {
                format!(" (synchronous={})", self.sqlite_synchronous)
            } else {
                String::new()
            },
            self.users,
            self.groups,
            self.push_group_members,
            self.connections,
            self.duration_seconds,
            self.warmup_seconds,
            match self.seeded_in_seconds {
                Some(s) => format!(", seeded in {s:.0} s"),
                None => String::new(),
            },
            match (self.half_header_sockets, self.stalled_readers) {
                (0, 0) => String::new(),
                (h, s) => format!(", {h} half-header sockets and {s} stalled readers held"),
            },
            mib(self.idle_rss_kib),
        );
        let _ = writeln!(
            out,
            "| | workload | requests/s | vs (g) | p50 | p99 | max | errors | server peak RSS | server CPU per request |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for row in &self.rows {
            let rss = mib(row.peak_rss_kib);
            let cpu = row
                .server_cpu_us
                .map_or("?".into(), |us| format!("{us:.0} µs"));
            let line = match &row.measured {
                Measured::Load(f) => format!(
                    "| ({}) | {} | {:.0} | {} | {:.2} ms | {:.2} ms | {:.1} ms | {} | {rss} | {cpu} |",
                    row.letter,
                    row.what,
                    f.per_second,
                    row.ratio_to_ceiling
                        .map_or("–".into(), |r| format!("{:.0}%", r * 100.0)),
                    f.p50_ms,
                    f.p99_ms,
                    f.max_ms,
                    f.errors,
                ),
                Measured::Export(e) => format!(
                    "| ({}) | {}: {} users, {} pages in {:.1} s | {:.0} users/s | – | – | – | {:.0} ms a page | 0 | {rss} (RSS {} after 10%, {} at the end) | {cpu} a page |",
                    row.letter,
                    row.what,
                    e.users,
                    e.pages,
                    e.seconds,
                    e.users_per_second,
                    e.max_page_ms,
                    mib(e.rss_early_kib),
                    mib(e.rss_end_kib),
                ),
                Measured::Heavy(h) => format!(
                    "| ({}) | PATCH of {} removes on a user with {} e-mails (expected {}) | {:.1} | – | {:.2} ms | {:.2} ms | {:.1} ms | {} | {rss} | ? |",
                    row.letter,
                    h.operations,
                    h.emails,
                    h.heavy_status,
                    h.heavy.per_second,
                    h.heavy.p50_ms,
                    h.heavy.p99_ms,
                    h.heavy.max_ms,
                    h.heavy.errors,
                ),
                // B during A's flood; the ratio and A's figures follow the table.
                Measured::Fairness(f) => format!(
                    "| ({}) | {} | B {:.0} | – | {:.2} ms | {:.2} ms | {:.1} ms | {} | {rss} | {cpu} |",
                    row.letter,
                    row.what,
                    f.flooded.per_second,
                    f.flooded.p50_ms,
                    f.flooded.p99_ms,
                    f.flooded.max_ms,
                    f.flooded.errors,
                ),
                Measured::Unavailable(why) => {
                    format!("| ({}) | {} | {why} | | | | | | | |", row.letter, row.what)
                }
            };
            let _ = writeln!(out, "{line}");
        }
        for row in &self.rows {
            if let Measured::Heavy(h) = &row.measured {
                let line = |f: &Figures| {
                    format!(
                        "{:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {} errors",
                        f.per_second, f.p50_ms, f.p99_ms, f.max_ms, f.errors
                    )
                };
                let ratio = if h.bystander_idle.p99_ms > 0.0 {
                    format!(
                        "{:.1}×",
                        h.bystander_during.p99_ms / h.bystander_idle.p99_ms
                    )
                } else {
                    "?".into()
                };
                let _ = writeln!(
                    out,
                    "\n({}) bystander tenant, one connection of POST /Users: alone {}; during the heavy PATCHes {} (p99 {ratio} of alone)",
                    row.letter,
                    line(&h.bystander_idle),
                    line(&h.bystander_during),
                );
            }
            if let Measured::Fairness(f) = &row.measured {
                let _ = writeln!(
                    out,
                    "\n({}) tenant B's p99 during tenant A's flood: {:.2} ms, alone {:.2} ms: ratio {:.2}; \
                     A sent {:.0} requests/s, {} of {} refused or failed (429 past its rate limit)",
                    row.letter,
                    f.flooded.p99_ms,
                    f.idle.p99_ms,
                    f.p99_ratio,
                    f.flood.per_second,
                    f.flood.errors,
                    f.flood.requests,
                );
            }
        }
        for row in &self.rows {
            let first = match &row.measured {
                Measured::Load(f) => f.first_error.as_ref(),
                Measured::Heavy(h) => h
                    .heavy
                    .first_error
                    .as_ref()
                    .or(h.bystander_idle.first_error.as_ref())
                    .or(h.bystander_during.first_error.as_ref()),
                // The flood's 429s are expected; the bystander's are not.
                Measured::Fairness(f) => f
                    .idle
                    .first_error
                    .as_ref()
                    .or(f.flooded.first_error.as_ref()),
                Measured::Export(_) | Measured::Unavailable(_) => None,
            };
            if let Some(error) = first {
                let _ = writeln!(out, "\n({}) first error: {error}", row.letter);
            }
        }
        out
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}
