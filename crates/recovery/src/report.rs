//! The diagnosis as people and programs read it: candidates ranked by prior likelihood, each
//! with its reasoning chain in plain words, the conflicts, what was exonerated, and the probe
//! that would tell the most.

use bit_set::BitSet;
use schemars::JsonSchema;
use serde::Serialize;

use crate::diagnoser::Diagnoser;
use crate::next_probe::{ProbeSuggestion, suggest};
use crate::observation::Health;
use crate::prior::weight;

/// One candidate diagnosis: these assets faulty together explain every symptom.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Candidate {
    /// 1 for the most likely.
    pub rank: usize,
    /// The assets assumed faulty.
    pub assets: Vec<String>,
    /// Share of the candidate mass (0..=1).
    pub likelihood: f64,
    /// Why, step by step.
    pub reasoning: Vec<String>,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DiagnosisReport {
    /// Assets observed faulty, with the evidence.
    pub symptoms: Vec<String>,
    /// Assets cleared by OK observations.
    pub exonerated: Vec<String>,
    /// The minimal conflicts (each: assets that cannot all be healthy).
    pub conflicts: Vec<Vec<String>>,
    /// Symptoms that contradict the OK observations under the fault model.
    pub contradictions: Vec<String>,
    /// The most likely candidates, best first.
    pub candidates: Vec<Candidate>,
    /// How many candidates there are in all.
    pub candidate_count: usize,
    /// Whether every minimal diagnosis within the size bound was found.
    pub complete: bool,
    /// Largest diagnosis looked for.
    pub max_size: usize,
    /// The unobserved assets whose health would split the candidates best.
    pub next_probes: Vec<ProbeSuggestion>,
}

impl Diagnoser {
    /// Candidates ranked by weight, as `(share, set)`, best first.
    pub fn ranked(&self) -> Vec<(f64, &[usize])> {
        let sets = &self.candidates().sets;
        let mut ranked: Vec<(f64, &[usize])> = sets
            .iter()
            .map(|s| (weight(s, self.priors()), s.as_slice()))
            .collect();
        let total: f64 = ranked.iter().map(|(w, _)| w).sum();
        for (w, _) in &mut ranked {
            *w /= total.max(f64::MIN_POSITIVE);
        }
        ranked.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| a.1.len().cmp(&b.1.len()))
                .then_with(|| a.1.cmp(b.1))
        });
        ranked
    }

    /// The report with the `top` best candidates and up to `probes` probe suggestions, among
    /// the assets in `probeable` (all assets when `None`).
    pub fn report(&self, top: usize, probes: usize, probeable: Option<&BitSet>) -> DiagnosisReport {
        let g = self.graph();
        let mut symptoms: Vec<(usize, String)> = self
            .observations()
            .filter(|(_, o)| o.health == Health::Faulty)
            .map(|(i, o)| (i, format!("{} ({}: {})", g.id(i), o.source, o.detail)))
            .collect();
        symptoms.sort();
        let ranked = self.ranked();
        let candidates = ranked
            .iter()
            .take(top)
            .enumerate()
            .map(|(n, (share, set))| Candidate {
                rank: n + 1,
                assets: set.iter().map(|&i| g.id(i).to_string()).collect(),
                likelihood: *share,
                reasoning: self.reasoning(set),
            })
            .collect();
        DiagnosisReport {
            symptoms: symptoms.into_iter().map(|(_, s)| s).collect(),
            exonerated: self
                .exonerated()
                .iter()
                .map(|i| g.id(i).to_string())
                .collect(),
            conflicts: self
                .conflicts()
                .iter()
                .map(|c| c.set.iter().map(|i| g.id(i).to_string()).collect())
                .collect(),
            contradictions: self
                .contradictions()
                .iter()
                .map(|&i| g.id(i).to_string())
                .collect(),
            candidate_count: ranked.len(),
            candidates,
            complete: self.candidates().complete,
            max_size: self.options().max_size,
            next_probes: suggest(self, &ranked, probes, probeable),
        }
    }

    /// The reasoning chain of one candidate, in plain words.
    fn reasoning(&self, set: &[usize]) -> Vec<String> {
        let g = self.graph();
        let mut lines = Vec::new();
        if set.is_empty() {
            lines.push("No asset is observed faulty: nothing needs explaining.".to_string());
            return lines;
        }
        for &a in set {
            let prior = &self.priors()[a];
            lines.push(format!(
                "Suppose `{}` is faulty (prior {:.3}: {}).",
                g.id(a),
                prior.p,
                prior.why
            ));
            let mut explained: Vec<usize> = self
                .observations()
                .filter(|(_, o)| o.health == Health::Faulty)
                .map(|(s, _)| s)
                .filter(|&s| self.closure_of(s).is_some_and(|c| c.contains(a)))
                .collect();
            explained.sort_unstable();
            for s in explained {
                let o = self.observation(s).expect("symptoms are observed");
                let chain = g
                    .dependency_path(s, a)
                    .map(|p| {
                        p.iter()
                            .map(|&i| format!("`{}`", g.id(i)))
                            .collect::<Vec<_>>()
                            .join(" depends on ")
                    })
                    .unwrap_or_default();
                if s == a {
                    lines.push(format!(
                        "  That explains `{}` itself observed faulty ({}: {}).",
                        g.id(s),
                        o.source,
                        o.detail
                    ));
                } else {
                    lines.push(format!(
                        "  That explains `{}` observed faulty ({}: {}), because {chain}.",
                        g.id(s),
                        o.source,
                        o.detail
                    ));
                }
            }
            lines.push(format!(
                "  No asset observed OK depends on `{}`, so nothing clears it.",
                g.id(a)
            ));
        }
        let n = self.conflicts().len();
        lines.push(format!(
            "Together {} explain{} all {n} independent symptom{}; no smaller set within them does.",
            if set.len() == 1 { "it" } else { "they" },
            if set.len() == 1 { "s" } else { "" },
            if n == 1 { "" } else { "s" }
        ));
        lines
    }
}
