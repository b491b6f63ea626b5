use clap::Parser;
use fairslot_server::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    match fairslot_server::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fairslot-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
