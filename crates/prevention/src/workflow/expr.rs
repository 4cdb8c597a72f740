//! Conditions and effects of the workflow language: `order == paid`, `refunds < 2`,
//! `actor in customer | merchant`, `payment = captured`, `refunds += 1`, `cancelled_by = actor`.
//! Parsed once against the declared variables into indices, evaluated on a state's bytes.

use super::lang::Vars;

/// The left-hand side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A state variable, by index.
    Var(usize),
    /// The role that sent the request (or performs the action).
    Actor,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==` (or `in` with a list).
    In,
    /// `!=` (or `not in`).
    NotIn,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// One comparison, with values as indices (enumerations) or numbers (counters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    /// What is compared.
    pub subject: Subject,
    /// How.
    pub op: Op,
    /// With what: value indices for `In`/`NotIn`, one number otherwise.
    pub values: Vec<u8>,
    /// The text as written, for traces.
    pub text: String,
}

/// A condition: every clause must hold; a clause holds when any of its atoms holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    /// Conjunction of disjunctions.
    pub clauses: Vec<Vec<Atom>>,
}

/// One effect on a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// `var = value`
    Set(usize, u8),
    /// `var = actor`: the value named like the acting role.
    SetActor(usize),
    /// `var += n` / `var -= n` (saturating at 0 and the counter's maximum).
    Add(usize, i16),
}

impl Atom {
    /// Evaluates the atom; `actor` is the acting role's index in the role list.
    pub fn holds(&self, vars: &[u8], actor: u8) -> bool {
        let v = match self.subject {
            Subject::Var(i) => vars[i],
            Subject::Actor => actor,
        };
        match self.op {
            Op::In => self.values.contains(&v),
            Op::NotIn => !self.values.contains(&v),
            Op::Lt => v < self.values[0],
            Op::Le => v <= self.values[0],
            Op::Gt => v > self.values[0],
            Op::Ge => v >= self.values[0],
        }
    }
}

impl Condition {
    /// True when every clause has an atom that holds.
    pub fn holds(&self, vars: &[u8], actor: u8) -> bool {
        self.clauses
            .iter()
            .all(|clause| clause.iter().any(|a| a.holds(vars, actor)))
    }

    /// The first clause that fails, as written.
    pub fn failing(&self, vars: &[u8], actor: u8) -> Option<String> {
        self.clauses
            .iter()
            .find(|clause| !clause.iter().any(|a| a.holds(vars, actor)))
            .map(|clause| {
                clause
                    .iter()
                    .map(|a| a.text.clone())
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
    }
}

/// `a | b | c`: a list of values (written with bars so it fits inside YAML flow lists).
fn split_list(rhs: &str) -> Option<Vec<&str>> {
    rhs.contains('|')
        .then(|| rhs.split('|').map(str::trim).collect())
}

/// Parses a comparison against the variables and roles.
pub fn parse_atom(text: &str, vars: &Vars, roles: &[String]) -> Result<Atom, String> {
    let ops: [(&str, Op); 8] = [
        (" not in ", Op::NotIn),
        (" in ", Op::In),
        ("==", Op::In),
        ("!=", Op::NotIn),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let (lhs, op, rhs) = ops
        .iter()
        .find_map(|(token, op)| {
            text.split_once(token)
                .map(|(l, r)| (l.trim(), *op, r.trim()))
        })
        .ok_or_else(|| {
            format!("`{text}` is not a comparison (==, !=, <, <=, >, >=, in, not in)")
        })?;
    let subject = if lhs == "actor" {
        Subject::Actor
    } else {
        Subject::Var(
            vars.index(lhs)
                .ok_or_else(|| format!("`{lhs}` in `{text}` is not a declared variable"))?,
        )
    };
    if !matches!(op, Op::In | Op::NotIn) {
        let is_counter = matches!(subject, Subject::Var(i) if vars.is_counter(i));
        if !is_counter {
            return Err(format!("`{text}`: <, <=, >, >= compare counters only"));
        }
    }
    let names: Vec<&str> = match split_list(rhs) {
        Some(list) if matches!(op, Op::In | Op::NotIn) => list,
        Some(_) => return Err(format!("`{text}`: a list needs `in` or `not in`")),
        None => vec![rhs],
    };
    let value_of = |name: &str| -> Result<u8, String> {
        match subject {
            Subject::Actor => roles
                .iter()
                .position(|r| r == name)
                .map(|i| i as u8)
                .ok_or_else(|| format!("`{name}` in `{text}` is not a declared role")),
            Subject::Var(i) => vars.value(i, name).ok_or_else(|| {
                format!(
                    "`{name}` in `{text}` is not a value of `{}` ({})",
                    lhs,
                    vars.describe(i)
                )
            }),
        }
    };
    let values = names
        .iter()
        .map(|n| value_of(n))
        .collect::<Result<Vec<_>, _>>()?;
    if values.is_empty() {
        return Err(format!("`{text}`: empty list"));
    }
    Ok(Atom {
        subject,
        op,
        values,
        text: text.to_string(),
    })
}

/// Parses an effect against the variables.
pub fn parse_effect(text: &str, vars: &Vars) -> Result<Effect, String> {
    for (token, sign) in [("+=", 1i16), ("-=", -1i16)] {
        if let Some((lhs, rhs)) = text.split_once(token) {
            let i = vars.index(lhs.trim()).ok_or_else(|| {
                format!("`{}` in `{text}` is not a declared variable", lhs.trim())
            })?;
            if !vars.is_counter(i) {
                return Err(format!("`{text}`: only counters can be incremented"));
            }
            let n: i16 = rhs
                .trim()
                .parse()
                .map_err(|_| format!("`{text}`: `{}` is not a small number", rhs.trim()))?;
            return Ok(Effect::Add(i, sign * n));
        }
    }
    let (lhs, rhs) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not an effect (var = value, var += n, var -= n)"))?;
    let (lhs, rhs) = (lhs.trim(), rhs.trim());
    let i = vars
        .index(lhs)
        .ok_or_else(|| format!("`{lhs}` in `{text}` is not a declared variable"))?;
    if rhs == "actor" {
        return Ok(Effect::SetActor(i));
    }
    let v = vars.value(i, rhs).ok_or_else(|| {
        format!(
            "`{rhs}` in `{text}` is not a value of `{lhs}` ({})",
            vars.describe(i)
        )
    })?;
    Ok(Effect::Set(i, v))
}
