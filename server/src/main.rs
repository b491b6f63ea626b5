use clap::Parser;
use fairslot_server::Config;
use fairslot_server::config::Command;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    if let Some(Command::Monitor(args)) = &config.command {
        return fairslot_server::monitor::run(args).await;
    }
    match fairslot_server::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fairslot-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
