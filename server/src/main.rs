//! The `switchboard` binary: parse the command line, then serve or sign a token.

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
        Command::Serve => {
            switchboard::app::init_logging(&config);
            let server = switchboard::spawn(config).await?;
            server.run_until_signal().await
        }
    }
}
