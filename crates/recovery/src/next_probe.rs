//! The next most informative probe: the unobserved asset whose health splits the candidate mass
//! most evenly (highest binary entropy). Under the fault model, candidate `D` predicts asset `x`
//! faulty exactly when `x` is in `D` or depends on something in `D`; so the share of candidates
//! predicting "faulty" is the mass of those whose dependents-closure contains `x`.

use bit_set::BitSet;
use schemars::JsonSchema;
use serde::Serialize;

use crate::diagnoser::Diagnoser;
use crate::observation::Health;

/// Candidates considered for the split (the rest carry little mass).
const MAX_CANDIDATES: usize = 200;

/// One suggested probe.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProbeSuggestion {
    /// The asset to check.
    pub asset: String,
    /// Expected information, in bits (1 = an even split).
    pub entropy_bits: f64,
    /// Share of the candidate mass that predicts it faulty.
    pub faulty_share: f64,
    /// In words.
    pub reason: String,
}

/// Up to `count` suggestions among `probeable` (all assets when `None`), best first;
/// `ranked` are the candidates as `(share, set)`.
pub fn suggest(
    d: &Diagnoser,
    ranked: &[(f64, &[usize])],
    count: usize,
    probeable: Option<&BitSet>,
) -> Vec<ProbeSuggestion> {
    let g = d.graph();
    let considered = &ranked[..ranked.len().min(MAX_CANDIDATES)];
    let total: f64 = considered.iter().map(|(w, _)| w).sum();
    if count == 0 || considered.len() < 2 || total <= 0.0 {
        return Vec::new();
    }
    let mut mass = vec![0.0f64; g.len()];
    for (w, set) in considered {
        for x in g.dependents_closure(set.iter().copied()).iter() {
            mass[x] += w;
        }
    }
    let observed = |x: usize| {
        d.observation(x)
            .is_some_and(|o| o.health != Health::Unknown)
    };
    let mut scored: Vec<(f64, f64, usize)> = mass
        .iter()
        .enumerate()
        .filter(|&(x, &m)| m > 0.0 && !observed(x) && probeable.is_none_or(|p| p.contains(x)))
        .map(|(x, &m)| {
            let p = (m / total).clamp(0.0, 1.0);
            (entropy(p), p, x)
        })
        .filter(|(h, _, _)| *h > 1e-9)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.2.cmp(&b.2)));
    scored
        .into_iter()
        .take(count)
        .map(|(h, p, x)| ProbeSuggestion {
            asset: g.id(x).to_string(),
            entropy_bits: h,
            faulty_share: p,
            reason: format!(
                "candidates holding {:.0} % of the likelihood predict `{}` faulty, the rest predict it OK: its health rules out one side",
                p * 100.0,
                g.id(x)
            ),
        })
        .collect()
}

/// Binary entropy in bits.
fn entropy(p: f64) -> f64 {
    let term = |q: f64| if q <= 0.0 { 0.0 } else { -q * q.log2() };
    term(p) + term(1.0 - p)
}

#[cfg(test)]
mod tests {
    use super::entropy;

    #[test]
    fn even_split_is_one_bit() {
        assert!((entropy(0.5) - 1.0).abs() < 1e-12);
        assert_eq!(entropy(0.0), 0.0);
        assert!(entropy(0.1) < entropy(0.4));
    }
}
