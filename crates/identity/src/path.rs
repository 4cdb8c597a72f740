//! Claim paths in JSON Pointer syntax (RFC 6901), e.g. `/age_equal_or_over/18` or
//! `/nationalities/0`: how the issuer says what is selectively disclosable and how the holder
//! says what to reveal.

use std::fmt;
use std::str::FromStr;

use crate::error::IdentityError;

/// A path to a claim: object keys and array indices, one segment each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ClaimPath(pub Vec<String>);

impl ClaimPath {
    /// Whether `self` is `other` or one of its ancestors.
    #[must_use]
    pub fn is_prefix_of(&self, other: &Self) -> bool {
        other.0.starts_with(&self.0)
    }

    /// This path with `segment` appended.
    #[must_use]
    pub fn child(&self, segment: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment.to_owned());
        Self(segments)
    }
}

impl FromStr for ClaimPath {
    type Err = IdentityError;

    /// Parses `/a/b` (with `~1` for `/` and `~0` for `~`); the empty string is the root.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Ok(Self::default());
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(IdentityError::UnknownClaimPath(format!(
                "{text} (a claim path starts with '/')"
            )));
        };
        Ok(Self(
            rest.split('/')
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect(),
        ))
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.0 {
            write!(f, "/{}", segment.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_displays_and_orders() {
        let p: ClaimPath = "/address/a~1b~0c".parse().expect("valid");
        assert_eq!(p.0, ["address", "a/b~c"]);
        assert_eq!(p.to_string(), "/address/a~1b~0c");
        let parent: ClaimPath = "/address".parse().expect("valid");
        assert!(parent.is_prefix_of(&p) && !p.is_prefix_of(&parent));
        assert!("address".parse::<ClaimPath>().is_err());
    }
}
