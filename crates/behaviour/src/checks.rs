//! A detector's `where` conditions compiled per event type, so that an event costs each distinct
//! check once, whatever the number of rules and measures that share it.
//!
//! For each event type a detector reads, the (field, test) pairs of every rule's and measure's
//! conditions are collected without duplicates; a rule lists the indices of the checks it needs.
//! A condition on a field the type lacks is settled at load (it holds only for `exists: false`):
//! a rule that can never match the type is not listed for it at all. Lists of substrings
//! (`contains`) on one field are searched together in one pass over the text with an Aho-Corasick
//! automaton, instead of one pass per needle and rule, and the answers for the last few hundred
//! texts are remembered (user agents repeat: a shop sees a few hundred browsers' strings for
//! millions of requests). Checks are evaluated lazily, at most once per event ([`Memo`]).

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, Anchored, Input, MatchKind, StartKind};
use ensuresec_model::{Event, EventType};

use crate::condition::{Condition, ForType, Op};
use crate::field::{Field, Value};
use crate::hash::hash_bytes;
use crate::rules::{MeasureKind, Rule};

/// How a check is evaluated.
enum How {
    /// [`Op::matches`] on the field's value.
    Op,
    /// A `prefix` list as one anchored automaton: it stops at the first byte no needle shares.
    Prefix(AhoCorasick),
    /// A `contains` list, answered by the type's one scan of this field ([`Scan`]).
    Scan(usize),
    /// A `suffix` list, with the set of its needles' last bytes (either case): a text ending in
    /// another byte (most paths: `/product/123`) fails without comparing any needle.
    Suffix([u64; 4]),
}

/// The set of the last bytes of `needles`, in both ASCII cases; an empty needle (which every
/// text ends with) puts every byte in.
fn last_bytes(needles: &[String]) -> [u64; 4] {
    let mut set = [0u64; 4];
    for n in needles {
        let Some(&b) = n.as_bytes().last() else {
            return [u64::MAX; 4];
        };
        for b in [b.to_ascii_lowercase(), b.to_ascii_uppercase()] {
            set[usize::from(b >> 6)] |= 1 << (b & 63);
        }
    }
    set
}

/// One (field, test) pair.
struct Check {
    field: Field,
    op: Op,
    how: How,
}

/// Every `contains` list on one field (up to 64 of them), as one automaton over all their
/// needles: one pass over the text answers them all.
struct Scan {
    /// Whether the text holds any needle: leftmost-first semantics, which let the library use
    /// its vectorised literal search, where the overlapping search must walk every byte.
    any: AhoCorasick,
    /// Which needles it holds (overlapping, so that a needle inside another is found too).
    automaton: AhoCorasick,
    /// The position in `checks` of the list each needle belongs to, by pattern index.
    owner: Vec<u8>,
    /// The checks it answers (at most [`SCAN_CHECKS`]).
    checks: Vec<u16>,
    /// Answers for recent texts. Interior mutability: a read of the detector's compiled checks
    /// may fill it (detectors are used by one thread at a time).
    recent: RefCell<Vec<Option<Remembered>>>,
}

/// A text and the lists it contains a needle of.
type Remembered = (Box<str>, u64);

/// Lists one scan answers: one bit each in the remembered answers.
const SCAN_CHECKS: usize = 64;
/// Texts whose answers a scan remembers (direct-mapped by hash: a new text takes its slot).
const RECENT: usize = 512;
/// Longer texts are searched every time (and cost no memory).
const RECENT_MAX_LEN: usize = 512;

impl Scan {
    /// The lists `text` contains a needle of, as bits by position in `checks`.
    fn answers(&self, text: &str) -> u64 {
        if text.len() > RECENT_MAX_LEN {
            return self.search(text);
        }
        let slot = hash_bytes(text.as_bytes()) as usize % RECENT;
        let mut recent = self.recent.borrow_mut();
        if let Some((seen, answers)) = &recent[slot]
            && **seen == *text
        {
            return *answers;
        }
        let answers = self.search(text);
        recent[slot] = Some((text.into(), answers));
        answers
    }

    /// Searches the text lowercased (needles are stored lowercase, so this is the ASCII
    /// case-insensitive match): plain literals let the library use its vectorised search, and a
    /// text with no needle at all, the usual case, costs that one fast pass.
    fn search(&self, text: &str) -> u64 {
        let mut stack = [0u8; RECENT_MAX_LEN];
        let mut heap = Vec::new();
        let lower: &mut [u8] = match stack.get_mut(..text.len()) {
            Some(buf) => buf,
            None => {
                heap.resize(text.len(), 0);
                &mut heap
            }
        };
        lower.copy_from_slice(text.as_bytes());
        lower.make_ascii_lowercase();
        if !self.any.is_match(&*lower) {
            return 0;
        }
        self.automaton
            .find_overlapping_iter(&*lower)
            .fold(0, |bits, m| bits | 1 << self.owner[m.pattern().as_usize()])
    }
}

/// An automaton over `needles`, matching ASCII case-insensitively (like [`Op::matches`]) or, for
/// needles already lowercase searched in lowercased text, exactly; `None` if it cannot be built
/// (it cannot for rule-sized needle lists), in which case [`Op::matches`] answers.
fn automaton<S: AsRef<[u8]>>(
    needles: &[S],
    start: StartKind,
    case_insensitive: bool,
    kind: MatchKind,
) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .ascii_case_insensitive(case_insensitive)
        .start_kind(start)
        .match_kind(kind)
        .build(needles)
        .ok()
}

/// The checks one rule needs on events of one type.
pub(crate) struct RuleChecks {
    /// The rule's index in the detector.
    pub rule: u16,
    /// Checks of the rule's own `where`.
    pub when: Box<[u16]>,
    /// Per measure, the checks of its `where`; `None` when it can never hold for this type.
    pub measures: Box<[Option<Box<[u16]>>]>,
    /// Per measure, the field it reads on this type (distinct, new value, bucket weight).
    pub fields: Box<[Option<Field>]>,
}

/// Everything a detector checks on events of one type.
#[derive(Default)]
pub(crate) struct TypeChecks {
    checks: Vec<Check>,
    scans: Vec<Scan>,
    /// The rules that read the type and can match it, in rule order.
    pub rules: Vec<RuleChecks>,
}

/// Which checks have been evaluated for the current event, and their results.
#[derive(Default)]
pub(crate) struct Memo {
    /// 0: not evaluated yet; 1: false; 2: true.
    state: Vec<u8>,
}

impl TypeChecks {
    /// Compiles the conditions of `rules` (indexed as in the detector) for events of type `ty`.
    pub(crate) fn compile<'r>(ty: EventType, rules: impl Iterator<Item = &'r Rule>) -> Self {
        let mut out = TypeChecks::default();
        for (i, rule) in rules.enumerate() {
            if !rule.reads(ty) {
                continue;
            }
            let Some(when) = out.intern_all(ty, &rule.conditions) else {
                continue;
            };
            let measures = rule
                .measures
                .iter()
                .map(|m| out.intern_all(ty, &m.conditions))
                .collect();
            let fields =
                rule.measures
                    .iter()
                    .map(|m| match &m.kind {
                        MeasureKind::Distinct { field, .. }
                        | MeasureKind::NewValue { field, .. } => field.for_type(ty),
                        MeasureKind::Bucket {
                            weight: Some(field),
                            ..
                        } => field.for_type(ty),
                        _ => None,
                    })
                    .collect();
            out.rules.push(RuleChecks {
                // The detector keeps at most `u16::MAX` rules.
                rule: u16::try_from(i).unwrap_or(u16::MAX),
                when,
                measures,
                fields,
            });
        }
        out.build_scans();
        out
    }

    /// Groups the `contains` checks by field into one automaton each (64 lists at most).
    fn build_scans(&mut self) {
        let mut fields: Vec<Field> = Vec::new();
        for c in &self.checks {
            if matches!(c.op, Op::Contains(_)) && !fields.contains(&c.field) {
                fields.push(c.field);
            }
        }
        for field in fields {
            let ids: Vec<u16> = (0..self.checks.len())
                .filter(|i| {
                    let c = &self.checks[*i];
                    c.field == field && matches!(c.op, Op::Contains(_))
                })
                .map(|i| u16::try_from(i).unwrap_or(u16::MAX))
                .collect();
            for checks in ids.chunks(SCAN_CHECKS) {
                let (mut needles, mut owner) = (Vec::new(), Vec::new());
                for (bit, id) in checks.iter().enumerate() {
                    if let Op::Contains(list) = &self.checks[usize::from(*id)].op {
                        // Searched in lowercased text (rule files store them lowercase).
                        needles.extend(list.iter().map(|n| n.to_ascii_lowercase()));
                        // `bit` < SCAN_CHECKS.
                        owner.extend(std::iter::repeat_n(bit as u8, list.len()));
                    }
                }
                let (Some(any), Some(automaton)) = (
                    automaton(
                        &needles,
                        StartKind::Unanchored,
                        false,
                        MatchKind::LeftmostFirst,
                    ),
                    automaton(&needles, StartKind::Unanchored, false, MatchKind::Standard),
                ) else {
                    continue;
                };
                for &id in checks {
                    self.checks[usize::from(id)].how = How::Scan(self.scans.len());
                }
                self.scans.push(Scan {
                    any,
                    automaton,
                    owner,
                    checks: checks.to_vec(),
                    recent: RefCell::new(vec![None; RECENT]),
                });
            }
        }
    }

    /// The check indices for a list of conditions, or `None` if one can never hold.
    fn intern_all(&mut self, ty: EventType, conditions: &[Condition]) -> Option<Box<[u16]>> {
        let mut ids = Vec::new();
        for c in conditions {
            match c.for_type(ty) {
                ForType::Always => {}
                ForType::Never => return None,
                ForType::Test(field, op) => {
                    let id = match self
                        .checks
                        .iter()
                        .position(|k| k.field == field && k.op == *op)
                    {
                        Some(id) => id,
                        None => {
                            let how = match op {
                                Op::Prefix(list) => {
                                    automaton(list, StartKind::Anchored, true, MatchKind::Standard)
                                        .map_or(How::Op, How::Prefix)
                                }
                                Op::Suffix(list) => How::Suffix(last_bytes(list)),
                                _ => How::Op,
                            };
                            self.checks.push(Check {
                                field,
                                op: op.clone(),
                                how,
                            });
                            self.checks.len() - 1
                        }
                    };
                    // Rule files are small: more than 65 535 distinct checks is not a case.
                    ids.push(u16::try_from(id).unwrap_or(u16::MAX));
                }
            }
        }
        Some(ids.into_boxed_slice())
    }

    /// Readies `memo` for a new event of this type.
    #[inline]
    pub(crate) fn start(&self, memo: &mut Memo) {
        memo.state.clear();
        memo.state.resize(self.checks.len(), 0);
    }

    /// Whether every listed check holds for `event` (each evaluated at most once per event).
    #[inline]
    pub(crate) fn all(&self, ids: &[u16], event: &Event, memo: &mut Memo) -> bool {
        ids.iter().all(|&id| {
            let id = usize::from(id);
            if memo.state[id] == 0 {
                self.eval(id, event, memo);
            }
            memo.state[id] == 2
        })
    }

    /// Evaluates check `id` (and, for a scan, every check the scan answers) into `memo`.
    fn eval(&self, id: usize, event: &Event, memo: &mut Memo) {
        let c = &self.checks[id];
        let value = c.field.read(event);
        let holds = match (&c.how, value) {
            (How::Scan(s), value) => {
                let scan = &self.scans[*s];
                // `contains` fails on an absent or non-text value.
                let answers = match value {
                    Some(Value::Str(text)) => scan.answers(text),
                    _ => 0,
                };
                for (bit, &k) in scan.checks.iter().enumerate() {
                    memo.state[usize::from(k)] = 1 + u8::from(answers >> bit & 1 == 1);
                }
                return;
            }
            (How::Prefix(a), Some(Value::Str(text))) => {
                a.is_match(Input::new(text).anchored(Anchored::Yes))
            }
            // `prefix` fails on an absent or non-text value.
            (How::Prefix(_), _) => false,
            (How::Suffix(last), Some(Value::Str(text))) => {
                // An empty text ends only with an empty needle: `Op::matches` decides.
                text.as_bytes()
                    .last()
                    .is_none_or(|b| last[usize::from(b >> 6)] >> (b & 63) & 1 == 1)
                    && c.op.matches(value)
            }
            (How::Suffix(_), value) => c.op.matches(value),
            (How::Op, value) => c.op.matches(value),
        };
        memo.state[id] = 1 + u8::from(holds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleSet;
    use ensuresec_model::fixtures;

    fn set(yaml: &str) -> RuleSet {
        RuleSet::from_yaml("t.yaml", yaml).expect("rules")
    }

    #[test]
    fn shared_conditions_are_checked_once_and_impossible_rules_dropped() {
        let rules = set("
rules:
  - { id: a, title: t, event: auth, where: { outcome: failure }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
  - { id: b, title: t, event: [auth, http_request], where: { outcome: failure }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
  - { id: c, title: t, event: http_request, where: { status: 404 }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
");
        let auth = TypeChecks::compile(EventType::Auth, rules.rules.iter());
        assert_eq!(auth.checks.len(), 1, "`outcome: failure` is one check");
        assert_eq!(auth.rules.len(), 2);
        let http = TypeChecks::compile(EventType::HttpRequest, rules.rules.iter());
        // Rule b's `outcome` does not exist on requests: it can never match one.
        assert_eq!(
            http.rules.iter().map(|r| r.rule).collect::<Vec<_>>(),
            vec![2]
        );
    }

    #[test]
    fn compiled_text_lists_agree_with_the_conditions() {
        let rules = set("
rules:
  - { id: a, title: t, event: http_request, where: { user_agent: { contains: [headlesschrome, \"curl/\", ZAP/] } }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
  - { id: b, title: t, event: http_request, where: { user_agent: { contains: [curl, nikto] } }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
  - { id: c, title: t, event: http_request, where: { path: { prefix: [/.env, /.git, /wp-admin, /] } }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
  - { id: d, title: t, event: http_request, where: { path: { prefix: [/WP-, /cart/coupon] } }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
  - { id: e, title: t, event: http_request, where: { path: { suffix: [.CSS, .woff2, .js] } }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
  - { id: f, title: t, event: http_request, where: { path: { suffix: [\"\"] } }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
");
        let checks = TypeChecks::compile(EventType::HttpRequest, rules.rules.iter());
        assert_eq!(checks.scans.len(), 1, "both user-agent lists in one pass");
        // A text longer than the remembered ones is searched every time, with the same answer.
        let long = format!("{}nikto", "x".repeat(RECENT_MAX_LEN));
        assert_eq!(checks.scans[0].answers(&long), 0b10);
        assert_eq!(checks.scans[0].answers(&long), 0b10);
        // Many texts share a remembered slot: each keeps its own answer.
        for round in 0..2 {
            for i in 0..3 * RECENT {
                let text = format!("agent-{i}{}", ["", "curl/", "NIKTO", "zap/"][i % 4]);
                let want = [0, 0b11, 0b10, 0b01][i % 4];
                assert_eq!(
                    checks.scans[0].answers(&text),
                    want,
                    "{text}, round {round}"
                );
            }
        }
        let at = chrono::DateTime::UNIX_EPOCH;
        for (ua, path) in [
            (Some("Mozilla/5.0 HeadlessChrome/131"), "/.ENV"),
            (Some("CURL/8.1"), "/wp-admin/x"),
            (Some("owasp zap/2.14 nikto"), "/cart/coupon"),
            (Some("x"), "/static/app.Css"),
            (Some("x"), "/f.WOFF2"),
            (Some("x"), "/f.woff"),
            (Some("x"), "/app.JS"),
            (Some("Mozilla/5.0 (X11) Firefox/131"), "/product/1"),
            (Some("curl"), "/.gi"),
            (Some(""), ""),
            (None, "/Wp-login.php"),
        ] {
            let mut e = fixtures::http_get(path, "192.0.2.1", 200, at);
            if let ensuresec_model::EventData::HttpRequest(h) = &mut e.data {
                h.user_agent = ua.map(String::from);
            }
            // Rules in reverse order too: a scan's answers must not depend on which check asked,
            // nor on whether they were searched or remembered.
            for order in [[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5]] {
                let mut memo = Memo::default();
                checks.start(&mut memo);
                for r in order {
                    let cond = &rules.rules[r].conditions[0];
                    assert_eq!(
                        checks.all(&checks.rules[r].when, &e, &mut memo),
                        cond.matches(&e),
                        "rule {r}, {ua:?} {path}"
                    );
                }
            }
        }
    }
}
