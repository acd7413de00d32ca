//! IP address ranges of policies: CIDR (`10.0.0.0/8`, `2001:db8::/32`), address/netmask
//! (`10.0.0.0/255.0.0.0`), `first-last` ranges and single addresses. IPv4 and IPv6 live in
//! separate spaces; IPv4-mapped IPv6 addresses (RFC 4291 section 2.5.5.2) are matched as IPv4.

use std::fmt;
use std::net::IpAddr;

/// The address family of a range or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4, addresses as u32 widened to u128.
    V4,
    /// IPv6.
    V6,
}

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpRange {
    /// The family both ends belong to.
    pub family: Family,
    /// First address, as an integer.
    pub first: u128,
    /// Last address, as an integer (inclusive).
    pub last: u128,
}

impl IpRange {
    /// How many addresses the range holds, minus one (so a /0 IPv6 range fits in u128).
    pub fn span(&self) -> u128 {
        self.last - self.first
    }

    /// True when `address` lies in the range.
    pub fn contains(&self, address: (Family, u128)) -> bool {
        address.0 == self.family && self.first <= address.1 && address.1 <= self.last
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |value: u128| match self.family {
            Family::V4 => {
                std::net::Ipv4Addr::from(u32::try_from(value).unwrap_or(u32::MAX)).to_string()
            }
            Family::V6 => IpAddr::from(value.to_be_bytes()).to_string(),
        };
        if self.first == self.last {
            f.write_str(&show(self.first))
        } else {
            write!(f, "{}-{}", show(self.first), show(self.last))
        }
    }
}

/// An address as (family, integer); IPv4-mapped IPv6 becomes IPv4.
pub fn address_key(address: IpAddr) -> (Family, u128) {
    match address {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (Family::V4, u128::from(u32::from(v4))),
            None => (Family::V6, u128::from(v6)),
        },
    }
}

/// Parses an address literal: IPv4 dotted quad, IPv6 (optionally bracketed, optionally with
/// a zone index, which names an interface and is not part of the address).
pub fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let without_zone = match unbracketed.split_once('%') {
        Some((address, zone)) if address.contains(':') && !zone.is_empty() => address,
        Some(_) => return None,
        None => unbracketed,
    };
    without_zone.parse().ok()
}

fn family_bits(family: Family) -> u32 {
    match family {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

fn prefix_range(family: Family, base: u128, prefix: u32, text: &str) -> Result<IpRange, String> {
    let bits = family_bits(family);
    if prefix > bits {
        return Err(format!(
            "bad IP range \"{text}\": prefix /{prefix} is longer than {bits} bits"
        ));
    }
    let host_bits = bits - prefix;
    let host_mask: u128 = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    if base & host_mask != 0 {
        return Err(format!(
            "bad IP range \"{text}\": the address has bits set beyond the /{prefix} prefix"
        ));
    }
    Ok(IpRange {
        family,
        first: base,
        last: base | host_mask,
    })
}

/// A netmask (`255.255.0.0`) as a prefix length, when its one-bits are contiguous.
fn netmask_prefix(mask: IpAddr) -> Option<u32> {
    let (family, value) = match mask {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (Family::V6, u128::from(v6)),
    };
    let bits = family_bits(family);
    let ones = if bits == 32 {
        u32::try_from(value).map_or(0, u32::leading_ones)
    } else {
        value.leading_ones()
    };
    let rebuilt: u128 = if ones == 0 {
        0
    } else {
        (u128::MAX << (128 - ones)) >> (128 - bits)
    };
    (rebuilt == value).then_some(ones)
}

/// Parses one range in any of the accepted forms.
pub fn parse_range(text: &str) -> Result<IpRange, String> {
    let trimmed = text.trim();
    let bad = |why: &str| format!("bad IP range \"{text}\": {why}");
    if trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    if let Some((base, suffix)) = trimmed.split_once('/') {
        let base = parse_address(base).ok_or_else(|| bad("not an IP address before '/'"))?;
        let (family, value) = address_key(base);
        let family = if matches!(base, IpAddr::V6(_)) && family == Family::V4 {
            // "::ffff:10.0.0.0/104" style ranges: keep them in the IPv6 space they name.
            return Err(bad("IPv4-mapped IPv6 networks are not supported; use IPv4"));
        } else {
            family
        };
        if let Ok(prefix) = suffix.trim().parse::<u32>() {
            return prefix_range(family, value, prefix, text);
        }
        let mask = parse_address(suffix).ok_or_else(|| bad("not a prefix length or netmask"))?;
        if matches!(
            (family, mask),
            (Family::V4, IpAddr::V6(_)) | (Family::V6, IpAddr::V4(_))
        ) {
            return Err(bad("the netmask is of the other address family"));
        }
        let prefix = netmask_prefix(mask).ok_or_else(|| bad("the netmask is not contiguous"))?;
        return prefix_range(family, value, prefix, text);
    }
    if let Some((first, last)) = trimmed.split_once('-') {
        let first = parse_address(first).ok_or_else(|| bad("the start is not an IP address"))?;
        let last = parse_address(last).ok_or_else(|| bad("the end is not an IP address"))?;
        let (first_family, first) = address_key(first);
        let (last_family, last) = address_key(last);
        if first_family != last_family {
            return Err(bad("the ends are of different address families"));
        }
        if first > last {
            return Err(bad("the start is after the end"));
        }
        return Ok(IpRange {
            family: first_family,
            first,
            last,
        });
    }
    let address = parse_address(trimmed).ok_or_else(|| bad("not an IP address or range"))?;
    let (family, value) = address_key(address);
    Ok(IpRange {
        family,
        first: value,
        last: value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> IpRange {
        parse_range(text).expect(text)
    }

    #[test]
    fn cidr_netmask_dash_single() {
        let ten = r("10.0.0.0/8");
        assert_eq!((ten.first, ten.last), (0x0a00_0000, 0x0aff_ffff));
        assert_eq!(r("10.0.0.0/255.0.0.0"), ten);
        assert_eq!(r("10.0.0.0-10.255.255.255"), ten);
        assert_eq!(r("192.0.2.7").span(), 0);
        assert_eq!(r("0.0.0.0/0").span(), u128::from(u32::MAX));
        assert_eq!(r("::/0").span(), u128::MAX);
        assert_eq!(r("fc00::/7").family, Family::V6);
        assert_eq!(r("[::1]"), r("::1/128"));
    }

    #[test]
    fn rejects_bad_ranges() {
        for bad in [
            "",
            "10.0.0.1/8",
            "10.0.0.0/33",
            "10.0.0.0/255.0.255.0",
            "10.0.0.9-10.0.0.1",
            "10.0.0.1-::1",
            "banana",
            "10.0.0.0/x",
            "::ffff:10.0.0.0/104",
            "01.2.3.4",
        ] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let mapped = parse_address("::ffff:10.1.2.3").map(address_key);
        assert_eq!(mapped, Some((Family::V4, 0x0a01_0203)));
        assert!(r("10.0.0.0/8").contains((Family::V4, 0x0a01_0203)));
        assert!(!r("10.0.0.0/8").contains((Family::V6, 0x0a01_0203)));
    }

    #[test]
    fn zones_and_display() {
        assert!(parse_address("fe80::1%eth0").is_some());
        assert!(parse_address("10.0.0.1%eth0").is_none());
        assert_eq!(r("10.0.0.0/8").to_string(), "10.0.0.0-10.255.255.255");
        assert_eq!(r("::1").to_string(), "::1");
    }
}
