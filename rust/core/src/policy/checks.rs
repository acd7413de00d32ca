//! What a policy turns on: the checks it runs and how strictly (DESIGN.md "Policies").

/// The checks of one policy, as the connection-level decision needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyChecks {
    /// Certification path validation (RFC 5280 section 6).
    pub chain: bool,
    /// Server identity (RFC 6125 section 6).
    pub hostname: bool,
    /// Revocation by CRL (RFC 5280 section 6.3) or OCSP (RFC 6960).
    pub revocation: bool,
    /// The subject common name may stand in for a missing DNS subjectAltName (RFC 6125
    /// section 6.4.4).
    pub allow_common_name: bool,
    /// Audit mode: failures are reported and let through instead of enforced.
    pub audit: bool,
}

impl PolicyChecks {
    /// Every check on, enforced, no common-name fallback: the built-in internet default.
    pub const ALL: PolicyChecks = PolicyChecks {
        chain: true,
        hostname: true,
        revocation: true,
        allow_common_name: false,
        audit: false,
    };

    /// True when these checks turn off a check `other` runs, or loosen one (audit mode is
    /// looser than enforce: it lets failures through). The rule `Policy.weaker_than` states.
    pub fn weaker_than(&self, other: &PolicyChecks) -> bool {
        (self.audit && !other.audit)
            || (other.chain && !self.chain)
            || (other.hostname && !self.hostname)
            || (other.revocation && !self.revocation)
            || (self.allow_common_name && !other.allow_common_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_weaker_than_nothing() {
        let all = PolicyChecks::ALL;
        assert!(!all.weaker_than(&all));
        let loosened = [
            PolicyChecks {
                chain: false,
                ..all
            },
            PolicyChecks {
                hostname: false,
                ..all
            },
            PolicyChecks {
                revocation: false,
                ..all
            },
            PolicyChecks {
                allow_common_name: true,
                ..all
            },
            PolicyChecks { audit: true, ..all },
        ];
        for weaker in loosened {
            assert!(weaker.weaker_than(&all), "{weaker:?}");
            assert!(!all.weaker_than(&weaker), "{weaker:?}");
        }
    }

    #[test]
    fn different_but_not_weaker() {
        let no_chain = PolicyChecks {
            chain: false,
            ..PolicyChecks::ALL
        };
        let no_hostname = PolicyChecks {
            hostname: false,
            ..PolicyChecks::ALL
        };
        // Each turns off a check the other runs: both are weaker than the other.
        assert!(no_chain.weaker_than(&no_hostname));
        assert!(no_hostname.weaker_than(&no_chain));
    }
}
