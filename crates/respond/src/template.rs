//! Message templates: text with `{name}` placeholders filled from an incident. Placeholders are
//! checked when a playbook loads, so a typo fails at start, not in a customer's inbox.

use ensuresec_model::Incident;

use crate::stage::stage_of;

/// The placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "incident_id",
    "title",
    "entity",
    "entity_kind",
    "severity",
    "status",
    "stage",
    "first_seen",
    "last_seen",
    "alerts",
];

/// Longest template accepted.
const MAX_TEMPLATE_BYTES: usize = 16 * 1024;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Piece>);

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Field(&'static str),
}

impl Template {
    /// Parses `text`; `{{` and `}}` are literal braces.
    pub fn parse(text: &str) -> Result<Template, String> {
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(format!("template is over {MAX_TEMPLATE_BYTES} bytes"));
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let field = PLACEHOLDERS.iter().find(|p| **p == name).ok_or_else(|| {
                        format!(
                            "unknown placeholder `{{{name}}}`, expected one of {}",
                            PLACEHOLDERS.join(", ")
                        )
                    })?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field(field));
                }
                '}' => return Err("unmatched `}` (write `}}` for a brace)".into()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template(pieces))
    }

    /// The text for `incident`.
    pub fn render(&self, incident: &Incident) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => out.push_str(&field(incident, f)),
            }
        }
        out
    }
}

fn field(i: &Incident, name: &str) -> String {
    match name {
        "incident_id" => i.id.to_string(),
        "title" => i.title.clone(),
        "entity" => i.entity.value.clone(),
        "entity_kind" => i.entity.kind.to_string(),
        "severity" => i.severity.as_str().to_string(),
        "status" => i.status.to_string(),
        "stage" => stage_of(i).map_or("unknown", |s| s.as_str()).to_string(),
        "first_seen" => i.first_seen.to_rfc3339(),
        "last_seen" => i.last_seen.to_rfc3339(),
        "alerts" => i.alert_count.to_string(),
        _ => String::new(),
    }
}

/// Renders a template text that was validated at load (an invalid one renders as itself).
pub fn render(text: &str, incident: &Incident) -> String {
    Template::parse(text).map_or_else(|_| text.to_string(), |t| t.render(incident))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::incident;

    #[test]
    fn placeholders_are_filled() {
        let i = incident("credential-stuffing-ip", &["attack:T1110.004"]);
        let t =
            Template::parse("Incident {incident_id} on {entity} ({stage}) {{literal}}").unwrap();
        assert_eq!(
            t.render(&i),
            format!(
                "Incident {} on 203.0.113.9 (exploitation) {{literal}}",
                i.id
            )
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(Template::parse("{nope}").unwrap_err().contains("nope"));
        assert!(Template::parse("a } b").is_err());
    }
}
