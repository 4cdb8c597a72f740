//! `ensuresec schema`: the JSON Schemas of the wire types.

use std::process::ExitCode;

use ensuresec_model::schema;

/// Arguments of `ensuresec schema`.
#[derive(clap::Args)]
pub struct Args {
    /// Which type.
    #[arg(value_parser = ["event", "alert", "incident"])]
    kind: String,
}

/// Prints the schema.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let value = match args.kind.as_str() {
        "event" => schema::event_schema(),
        "alert" => schema::alert_schema(),
        _ => schema::incident_schema(),
    };
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(ExitCode::SUCCESS)
}
