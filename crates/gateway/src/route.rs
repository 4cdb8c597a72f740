//! Routes: a path prefix, its upstream, inspection mode, fail-safe group and rate limit; the
//! longest matching prefix wins.

use std::num::NonZeroU32;

use crate::config::{InspectMode, RouteConfig};
use crate::limits::RateLimit;
use crate::upstream::Upstream;

/// A route ready to serve.
#[derive(Debug)]
pub struct Route {
    /// Path prefix.
    pub prefix: String,
    /// Where requests go.
    pub upstream: Upstream,
    /// Inspection mode.
    pub mode: InspectMode,
    /// Fail-safe group.
    pub group: String,
    /// Anomaly threshold.
    pub threshold: u32,
    /// Rate limit per client address.
    pub limit: Option<RateLimit>,
}

/// The routes, longest prefix first.
#[derive(Debug)]
pub struct Routes(Vec<Route>);

impl Routes {
    /// Builds the routes (the configuration was validated).
    pub fn new(configs: &[RouteConfig], default_threshold: u32) -> Result<Routes, String> {
        let mut routes = configs
            .iter()
            .map(|c| {
                let limit = c
                    .rate_limit_per_second
                    .and_then(NonZeroU32::new)
                    .map(|rate| {
                        let burst = c.rate_limit_burst.and_then(NonZeroU32::new).unwrap_or(rate);
                        RateLimit::new(rate, burst)
                    });
                Ok(Route {
                    prefix: c.prefix.clone(),
                    upstream: Upstream::parse(&c.upstream)?,
                    mode: c.mode,
                    group: c.group.clone(),
                    threshold: c.threshold.unwrap_or(default_threshold),
                    limit,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Ok(Routes(routes))
    }

    /// Whether some route goes to an `https://` upstream.
    pub fn any_tls(&self) -> bool {
        self.0.iter().any(|r| r.upstream.is_tls())
    }

    /// The route for `path`.
    pub fn find(&self, path: &str) -> Option<&Route> {
        self.0.iter().find(|r| path.starts_with(&r.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str) -> RouteConfig {
        RouteConfig {
            prefix: prefix.into(),
            upstream: "http://127.0.0.1:1".into(),
            mode: InspectMode::Blocking,
            group: prefix.trim_matches('/').into(),
            threshold: None,
            rate_limit_per_second: None,
            rate_limit_burst: None,
        }
    }

    #[test]
    fn the_longest_prefix_wins() {
        let r = Routes::new(&[route("/"), route("/checkout/")], 5).unwrap();
        assert_eq!(r.find("/checkout/pay").unwrap().prefix, "/checkout/");
        assert_eq!(r.find("/catalogue").unwrap().prefix, "/");
    }
}
