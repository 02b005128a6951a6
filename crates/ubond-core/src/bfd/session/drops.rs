//! Why a received packet is discarded (RFC 5880 6.8.6 and the transports' checks), and the
//! counters by reason.

use std::fmt;

/// Why a received packet was discarded. The first group is RFC 5880 6.8.6's checks in order;
/// the rest are made by the transport (RFC 5881, RFC 7130) before the packet reaches a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// The version is not 1.
    Version,
    /// Detect Mult is zero.
    DetectMultZero,
    /// The Multipoint bit is set.
    Multipoint,
    /// My Discriminator is zero.
    MyDiscriminatorZero,
    /// Your Discriminator names no session of ours (spoofed, stale, or for another link).
    YourDiscriminator,
    /// Your Discriminator is zero while the sender's state is Init or Up.
    YourDiscriminatorZero,
    /// The A bit is set, and the session uses no authentication.
    Authentication,
    /// The frame's headers are not a well-formed IPv4/IPv6 UDP datagram (lengths, checksums),
    /// or the BFD packet's authentication section cannot be read.
    Malformed,
    /// The BFD Length field is below the minimum or beyond the UDP payload.
    Length,
    /// The TTL or hop limit is not 255 (RFC 5881 section 5: the packet may come from off-link).
    Ttl,
    /// Not from the configured peer address, or not to our address.
    Address,
}

impl DropReason {
    /// Every reason, in the order of [`DropCounters`].
    pub const ALL: [DropReason; 11] = [
        DropReason::Version,
        DropReason::DetectMultZero,
        DropReason::Multipoint,
        DropReason::MyDiscriminatorZero,
        DropReason::YourDiscriminator,
        DropReason::YourDiscriminatorZero,
        DropReason::Authentication,
        DropReason::Malformed,
        DropReason::Length,
        DropReason::Ttl,
        DropReason::Address,
    ];

    /// A short name for counters and logs (`version`, `ttl`, `your_discriminator`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::Version => "version",
            DropReason::DetectMultZero => "detect_mult_zero",
            DropReason::Multipoint => "multipoint",
            DropReason::MyDiscriminatorZero => "my_discriminator_zero",
            DropReason::YourDiscriminator => "your_discriminator",
            DropReason::YourDiscriminatorZero => "your_discriminator_zero",
            DropReason::Authentication => "authentication",
            DropReason::Malformed => "malformed",
            DropReason::Length => "length",
            DropReason::Ttl => "ttl",
            DropReason::Address => "address",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            DropReason::Version => "version is not 1",
            DropReason::DetectMultZero => "detect multiplier is zero",
            DropReason::Multipoint => "multipoint bit set",
            DropReason::MyDiscriminatorZero => "my discriminator is zero",
            DropReason::YourDiscriminator => "your discriminator is not this session's",
            DropReason::YourDiscriminatorZero => "your discriminator is zero in state init or up",
            DropReason::Authentication => "authentication present, none configured",
            DropReason::Malformed => "malformed frame",
            DropReason::Length => "length field out of range",
            DropReason::Ttl => "ttl or hop limit is not 255",
            DropReason::Address => "not from the peer or not to our address",
        };
        f.write_str(s)
    }
}

/// Packets dropped, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropCounters([u64; DropReason::ALL.len()]);

impl DropCounters {
    /// Counts one drop.
    pub fn count(&mut self, reason: DropReason) {
        if let Some(c) = self.0.get_mut(reason as usize) {
            *c += 1;
        }
    }

    /// Drops for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0.get(reason as usize).copied().unwrap_or(0)
    }

    /// All drops.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(reason, count)` for every reason, in [`DropReason::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self.get(r)))
    }
}
