//! How alike two fetches of a page are, for defacement: the share of words of visible text, and
//! of elements of the structure, that a diff keeps in place (`similar`'s ratio over the word
//! sequences, 2·kept / total; whitespace is not a word, or two unrelated texts would share it). 1 is identical, 0 has nothing in common. A shop's page changes a little every day
//! (prices, a banner); a defacement replaces most of it.

use std::time::{Duration, Instant};

use similar::{Algorithm, capture_diff_slices_deadline, get_diff_ratio};

/// The longest one diff may take; past it the diff is approximate (and still a fair figure).
const DIFF_DEADLINE: Duration = Duration::from_millis(200);

/// The similarity of two fetches.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Similarity {
    /// Of the visible text, by words.
    pub text: f64,
    /// Of the element sequence.
    pub structure: f64,
}

impl Similarity {
    /// The lower of the two: a defacement may keep the layout and replace the text, or the
    /// other way round.
    pub fn min(&self) -> f64 {
        self.text.min(self.structure)
    }
}

/// Compares two texts word by word (both empty: identical).
pub fn ratio(old: &str, new: &str) -> f64 {
    let a: Vec<&str> = old.split_whitespace().collect();
    let b: Vec<&str> = new.split_whitespace().collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let deadline = Instant::now().checked_add(DIFF_DEADLINE);
    let ops = capture_diff_slices_deadline(Algorithm::Myers, &a, &b, deadline);
    f64::from(get_diff_ratio(&ops, a.len(), b.len()))
}

/// Compares the text and structure of two fetches.
pub fn measure(
    old_text: &str,
    new_text: &str,
    old_structure: &str,
    new_structure: &str,
) -> Similarity {
    Similarity {
        text: ratio(old_text, new_text),
        structure: ratio(old_structure, new_structure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_price_change_is_similar_and_a_replaced_page_is_not() {
        let old = "Checkout Your basket Shoes 49.00 EUR Pay now Terms Privacy Contact";
        let price = "Checkout Your basket Shoes 45.00 EUR Pay now Terms Privacy Contact";
        let defaced = "HACKED BY someone greetings to all crews";
        assert!(ratio(old, price) > 0.8, "{}", ratio(old, price));
        assert!(ratio(old, defaced) < 0.2, "{}", ratio(old, defaced));
    }

    proptest! {
        #[test]
        fn ratio_is_between_0_and_1_and_1_for_the_same_text(a in "[a-z ]{0,200}", b in "[a-z ]{0,200}") {
            let r = ratio(&a, &b);
            prop_assert!((0.0..=1.0).contains(&r));
            prop_assert!((ratio(&a, &a) - 1.0).abs() < 1e-9);
        }
    }
}
