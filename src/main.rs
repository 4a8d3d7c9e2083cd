//! The `scimd` binary: the command line, logging, then the command.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = scimd::cli::parse();
    scimd::logging::init(cli.log_format);
    scimd::cli::run(cli).await
}
