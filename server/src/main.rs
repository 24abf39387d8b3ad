//! The `switchboard` binary: parse the command line, then serve, sign a token, or call the admin API.

use clap::Parser;
use switchboard::cli::{self, Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = match cli.settings.load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("switchboard: {e}");
            std::process::exit(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Token(args) => {
            println!("{}", cli::token(&config, &args));
            Ok(())
        }
        Command::Admin(command) => match cli::admin::run(&config, command).await {
            Ok(out) => {
                if !out.is_empty() {
                    println!("{out}");
                }
                Ok(())
            }
            Err(e) => {
                eprintln!("switchboard: {e}");
                std::process::exit(e.exit_code());
            }
        },
        Command::Serve => {
            switchboard::app::init_logging(&config);
            let server = switchboard::spawn(config).await?;
            server.run_until_signal().await
        }
    }
}
