//! `ensuresec config check FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use ensuresec_server::config::Config;

/// Configuration subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Validate a configuration file; names the bad key and line.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// Runs the subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { file } => match Config::check_file(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(2))
            }
        },
    }
}
