//! The `scimd` binary: the command line, logging, then the command.

/// mimalloc instead of glibc's malloc: a request makes many small,
/// short-lived allocations (BENCHMARKS.md, issue 16).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = scimd::cli::parse();
    scimd::logging::init(cli.log_format);
    scimd::cli::run(cli).await
}
