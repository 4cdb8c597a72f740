//! The workflow language (YAML, documented in `docs/prevention.md`): roles, state variables,
//! actions with guards and effects, the attacker's powers and the properties to check. Loading
//! is strict and compiles every condition and effect to indices; errors name the file and the
//! line (syntax) or the action/property and the text (meaning).

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::expr::{self, Atom, Condition, Effect};

/// Bounds of the language, so a model's state stays small and checking stays finite.
pub const MAX_VARS: usize = 16;
/// Request slots: request actions times their senders.
pub const MAX_SLOTS: usize = 16;
/// Properties per model.
pub const MAX_PROPERTIES: usize = 16;
/// Roles per model.
pub const MAX_ROLES: usize = 16;
/// Largest counter maximum.
pub const MAX_COUNTER: u8 = 100;
/// Largest workflow file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Why a workflow file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct WorkflowError {
    /// The file.
    pub file: String,
    /// What is wrong, with the line (syntax) or the action or property and the text (meaning).
    pub message: String,
}

/// A state variable's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarKind {
    /// One of the named values; the first is the initial one unless `initial` says otherwise.
    Enum(Vec<String>),
    /// A number from 0 to `max`.
    Counter(u8),
}

/// The declared variables, in file order.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// Names.
    pub names: Vec<String>,
    /// Kinds.
    pub kinds: Vec<VarKind>,
    /// Initial values (value indices or numbers).
    pub initial: Vec<u8>,
}

impl Vars {
    /// Index of a variable.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The value `name` (or number) of variable `i`.
    pub fn value(&self, i: usize, name: &str) -> Option<u8> {
        match &self.kinds[i] {
            VarKind::Enum(values) => values.iter().position(|v| v == name).map(|p| p as u8),
            VarKind::Counter(max) => name.parse::<u8>().ok().filter(|n| n <= max),
        }
    }

    /// Variable `i` is a counter.
    pub fn is_counter(&self, i: usize) -> bool {
        matches!(self.kinds[i], VarKind::Counter(_))
    }

    /// The value of variable `i` as written.
    pub fn show(&self, i: usize, v: u8) -> String {
        match &self.kinds[i] {
            VarKind::Enum(values) => values.get(v as usize).cloned().unwrap_or_default(),
            VarKind::Counter(_) => v.to_string(),
        }
    }

    /// What values variable `i` takes, for error messages.
    pub fn describe(&self, i: usize) -> String {
        match &self.kinds[i] {
            VarKind::Enum(values) => format!("one of {}", values.join(", ")),
            VarKind::Counter(max) => format!("a counter 0..={max}"),
        }
    }
}

/// A compiled action.
#[derive(Debug, Clone)]
pub struct ActionDef {
    /// Name.
    pub name: String,
    /// What it stands for, in the model's words.
    pub description: String,
    /// Roles that perform (or send) it, as role indices.
    pub by: Vec<u8>,
    /// Sent as a request and processed by the server later (may be replayed, reordered, raced).
    pub request: bool,
    /// The server checks the guard and applies the effect in one step; when false, the check and
    /// the effect are separate steps that other requests can come between (a race).
    pub atomic: bool,
    /// How often each sender may send it.
    pub sends: u8,
    /// Guard.
    pub guard: Condition,
    /// Effects, in order.
    pub effects: Vec<Effect>,
}

/// The kind of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyKind {
    /// Holds in every reachable state (safety).
    Always,
    /// Reached on every run (liveness, on runs that end).
    Eventually,
    /// Reachable at all (a sanity check that the model can do what it should).
    Sometimes,
}

/// A compiled property.
#[derive(Debug, Clone)]
pub struct PropertyDef {
    /// Name, in plain words.
    pub name: String,
    /// Why it matters, in the model's words.
    pub description: String,
    /// Kind.
    pub kind: PropertyKind,
    /// For `always … if`: where the property applies (empty: everywhere).
    pub when: Condition,
    /// What must hold (or be reached).
    pub then: Condition,
}

/// A compiled workflow model.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// Its name.
    pub name: String,
    /// What it models.
    pub description: String,
    /// Roles, in file order.
    pub roles: Vec<String>,
    /// The attacker's role index, if the model has an attacker.
    pub attacker: Option<u8>,
    /// Requests the attacker may replay.
    pub replays: u8,
    /// State variables.
    pub vars: Vars,
    /// Actions.
    pub actions: Vec<ActionDef>,
    /// Properties.
    pub properties: Vec<PropertyDef>,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    workflow: String,
    #[serde(default)]
    description: String,
    roles: Vec<String>,
    #[serde(default)]
    attacker: Option<RawAttacker>,
    variables: serde_yaml_ng::Mapping,
    actions: Vec<RawAction>,
    properties: Vec<RawProperty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttacker {
    #[serde(default = "attacker_role")]
    role: String,
    #[serde(default)]
    replays: u8,
}

fn attacker_role() -> String {
    "attacker".into()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawVar {
    Enum(Vec<String>),
    Counter(RawCounter),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCounter {
    max: u8,
    #[serde(default)]
    initial: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    name: String,
    by: Vec<String>,
    #[serde(default)]
    request: bool,
    #[serde(default = "yes")]
    atomic: bool,
    #[serde(default = "one")]
    sends: u8,
    #[serde(default)]
    guard: Vec<RawCond>,
    #[serde(default)]
    effect: Vec<String>,
    #[serde(default)]
    description: String,
}

fn yes() -> bool {
    true
}

fn one() -> u8 {
    1
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCond {
    Atom(String),
    Any { any: Vec<String> },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawAlways {
    List(Vec<RawCond>),
    Implies {
        #[serde(rename = "if")]
        when: Vec<RawCond>,
        then: Vec<RawCond>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProperty {
    name: String,
    #[serde(default)]
    description: String,
    always: Option<RawAlways>,
    eventually: Option<Vec<RawCond>>,
    sometimes: Option<Vec<RawCond>>,
}

impl Workflow {
    /// Reads and compiles a workflow file.
    pub fn from_file(path: &Path) -> Result<Self, WorkflowError> {
        use std::io::Read;
        let file = path.display().to_string();
        let err = |message: String| WorkflowError {
            file: file.clone(),
            message,
        };
        let f = std::fs::File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
        let mut bytes = Vec::new();
        f.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| err(format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(err(format!(
                "larger than the limit of {MAX_FILE_BYTES} bytes"
            )));
        }
        let text = String::from_utf8(bytes).map_err(|_| err("not UTF-8 text".into()))?;
        Self::parse(&text, &file)
    }

    /// Compiles workflow text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, WorkflowError> {
        let err = |message: String| WorkflowError {
            file: file.to_string(),
            message,
        };
        let raw: RawWorkflow = serde_yaml_ng::from_str(text).map_err(|e| err(e.to_string()))?;
        compile(raw, text).map_err(err)
    }
}

fn compile(raw: RawWorkflow, text: &str) -> Result<Workflow, String> {
    let roles = raw.roles;
    if roles.is_empty() || roles.len() > MAX_ROLES {
        return Err(format!("`roles`: between 1 and {MAX_ROLES} roles"));
    }
    if let Some(dup) = roles
        .iter()
        .enumerate()
        .find(|(i, r)| roles[..*i].contains(r))
    {
        return Err(format!("`roles`: `{}` is listed twice", dup.1));
    }
    let role_index = |name: &str, at: &str| -> Result<u8, String> {
        roles
            .iter()
            .position(|r| r == name)
            .map(|i| i as u8)
            .ok_or_else(|| format!("{at}: `{name}` is not a declared role"))
    };
    let (attacker, replays) = match &raw.attacker {
        Some(a) => (Some(role_index(&a.role, "`attacker.role`")?), a.replays),
        None => (None, 0),
    };
    if replays > 4 {
        return Err("`attacker.replays`: at most 4".into());
    }

    let mut vars = Vars::default();
    for (key, value) in &raw.variables {
        let name = key
            .as_str()
            .ok_or_else(|| "`variables`: names must be strings".to_string())?
            .to_string();
        if name == "actor" {
            return Err("`variables.actor`: `actor` is reserved for the acting role".into());
        }
        let parsed: RawVar = serde_yaml_ng::from_value(value.clone())
            .map_err(|_| format!("`variables.{name}`: a list of values or {{max: N}}"))?;
        let (kind, initial) = match parsed {
            RawVar::Enum(values) if !values.is_empty() && values.len() <= 64 => {
                if let Some(d) = values
                    .iter()
                    .enumerate()
                    .find(|(i, v)| values[..*i].contains(v))
                {
                    return Err(format!("`variables.{name}`: `{}` is listed twice", d.1));
                }
                (VarKind::Enum(values), 0)
            }
            RawVar::Enum(_) => return Err(format!("`variables.{name}`: 1 to 64 values")),
            RawVar::Counter(c) if c.max <= MAX_COUNTER && c.initial <= c.max => {
                (VarKind::Counter(c.max), c.initial)
            }
            RawVar::Counter(_) => {
                return Err(format!(
                    "`variables.{name}`: max at most {MAX_COUNTER}, initial at most max"
                ));
            }
        };
        vars.names.push(name);
        vars.kinds.push(kind);
        vars.initial.push(initial);
    }
    if vars.names.is_empty() || vars.names.len() > MAX_VARS {
        return Err(format!("`variables`: between 1 and {MAX_VARS} variables"));
    }

    let condition = |items: &[RawCond], at: &str, allow_actor: bool| -> Result<Condition, String> {
        let mut clauses = Vec::new();
        for item in items {
            let texts: Vec<&String> = match item {
                RawCond::Atom(t) => vec![t],
                RawCond::Any { any } => any.iter().collect(),
            };
            if texts.is_empty() {
                return Err(format!("{at}: an empty `any`"));
            }
            let atoms = texts
                .iter()
                .map(|t| expr::parse_atom(t, &vars, &roles).map_err(|m| format!("{at}: {m}")))
                .collect::<Result<Vec<Atom>, _>>()?;
            if !allow_actor && atoms.iter().any(|a| a.subject == expr::Subject::Actor) {
                return Err(format!("{at}: `actor` only has a meaning in actions"));
            }
            clauses.push(atoms);
        }
        Ok(Condition { clauses })
    };

    let mut actions = Vec::new();
    let mut slots = 0usize;
    for a in &raw.actions {
        let at = format!("action `{}`", a.name);
        if actions.iter().any(|x: &ActionDef| x.name == a.name) {
            return Err(format!("{at} is defined twice"));
        }
        if a.by.is_empty() {
            return Err(format!("{at}: `by` names no role"));
        }
        let by =
            a.by.iter()
                .map(|r| role_index(r, &format!("{at}, `by`")))
                .collect::<Result<Vec<_>, _>>()?;
        if a.sends == 0 || a.sends > 4 {
            return Err(format!("{at}: `sends` between 1 and 4"));
        }
        if !a.request && !a.atomic {
            return Err(format!(
                "{at}: only requests can be non-atomic (`request: true`)"
            ));
        }
        let guard = condition(&a.guard, &format!("{at}, guard"), true)?;
        let effects = a
            .effect
            .iter()
            .map(|t| expr::parse_effect(t, &vars).map_err(|m| format!("{at}, effect: {m}")))
            .collect::<Result<Vec<_>, _>>()?;
        for e in &effects {
            if let Effect::SetActor(i) = e {
                for r in &a.by {
                    if vars.value(*i, r).is_none() {
                        return Err(format!(
                            "{at}, effect: `{} = actor` but `{r}` is not a value of `{}`",
                            vars.names[*i], vars.names[*i]
                        ));
                    }
                }
            }
        }
        if a.request {
            slots += by.len();
        }
        actions.push(ActionDef {
            name: a.name.clone(),
            description: a.description.clone(),
            by,
            request: a.request,
            atomic: a.atomic,
            sends: a.sends,
            guard,
            effects,
        });
    }
    if actions.is_empty() {
        return Err("`actions`: none declared".into());
    }
    if slots > MAX_SLOTS {
        return Err(format!(
            "more than {MAX_SLOTS} request senders in all (requests × their `by` roles)"
        ));
    }

    let mut properties = Vec::new();
    for p in &raw.properties {
        let at = format!("property `{}`", p.name);
        let (kind, when, then) = match (&p.always, &p.eventually, &p.sometimes) {
            (Some(RawAlways::List(l)), None, None) => (
                PropertyKind::Always,
                Condition::default(),
                condition(l, &at, false)?,
            ),
            (Some(RawAlways::Implies { when, then }), None, None) => (
                PropertyKind::Always,
                condition(when, &at, false)?,
                condition(then, &at, false)?,
            ),
            (None, Some(l), None) => (
                PropertyKind::Eventually,
                Condition::default(),
                condition(l, &at, false)?,
            ),
            (None, None, Some(l)) => (
                PropertyKind::Sometimes,
                Condition::default(),
                condition(l, &at, false)?,
            ),
            _ => {
                return Err(format!(
                    "{at}: exactly one of `always`, `eventually`, `sometimes`"
                ));
            }
        };
        properties.push(PropertyDef {
            name: p.name.clone(),
            description: p.description.clone(),
            kind,
            when,
            then,
        });
    }
    if properties.is_empty() || properties.len() > MAX_PROPERTIES {
        return Err(format!("`properties`: between 1 and {MAX_PROPERTIES}"));
    }
    Ok(Workflow {
        name: raw.workflow,
        description: raw.description,
        roles,
        attacker,
        replays,
        vars,
        actions,
        properties,
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
    })
}
