//! The policies and kernel generations: [`XmitHashPolicy`] with the kernel's names, numbers and
//! parsing, and [`HashCompat`] for older kernels' formulas.

use core::fmt;
use core::str::FromStr;

/// A bonding transmit hash policy, with the kernel's names and numbers
/// (`BOND_XMIT_POLICY_*`, the `xmit_hash_policy` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum XmitHashPolicy {
    /// `layer2` (0): destination and source MAC low octets and the EtherType. The default.
    #[default]
    Layer2,
    /// `layer3+4` (1): IP addresses and transport ports (or ICMP identifier).
    Layer34,
    /// `layer2+3` (2): the `layer2` term and the IP addresses.
    Layer23,
    /// `encap2+3` (3): `layer2+3` on the innermost IP header the flow dissector finds.
    Encap23,
    /// `encap3+4` (4): `layer3+4` on the innermost headers the flow dissector finds.
    Encap34,
    /// `vlan+srcmac` (5, Linux 5.12+): source MAC and the accelerated VLAN TCI.
    VlanSrcMac,
}

impl XmitHashPolicy {
    /// Every policy, in the kernel's numeric order.
    pub const ALL: [XmitHashPolicy; 6] = [
        XmitHashPolicy::Layer2,
        XmitHashPolicy::Layer34,
        XmitHashPolicy::Layer23,
        XmitHashPolicy::Encap23,
        XmitHashPolicy::Encap34,
        XmitHashPolicy::VlanSrcMac,
    ];

    /// The kernel's name, as `/sys/class/net/bondX/bonding/xmit_hash_policy` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            XmitHashPolicy::Layer2 => "layer2",
            XmitHashPolicy::Layer34 => "layer3+4",
            XmitHashPolicy::Layer23 => "layer2+3",
            XmitHashPolicy::Encap23 => "encap2+3",
            XmitHashPolicy::Encap34 => "encap3+4",
            XmitHashPolicy::VlanSrcMac => "vlan+srcmac",
        }
    }

    /// The kernel's number (`BOND_XMIT_POLICY_*`).
    pub const fn number(self) -> u8 {
        match self {
            XmitHashPolicy::Layer2 => 0,
            XmitHashPolicy::Layer34 => 1,
            XmitHashPolicy::Layer23 => 2,
            XmitHashPolicy::Encap23 => 3,
            XmitHashPolicy::Encap34 => 4,
            XmitHashPolicy::VlanSrcMac => 5,
        }
    }

    /// The policy with kernel number `n`, if there is one.
    pub const fn from_number(n: u64) -> Option<XmitHashPolicy> {
        match n {
            0 => Some(XmitHashPolicy::Layer2),
            1 => Some(XmitHashPolicy::Layer34),
            2 => Some(XmitHashPolicy::Layer23),
            3 => Some(XmitHashPolicy::Encap23),
            4 => Some(XmitHashPolicy::Encap34),
            5 => Some(XmitHashPolicy::VlanSrcMac),
            _ => None,
        }
    }

    /// Whether the policy reads L4 ports (and drops the low bit of the folded hash).
    pub const fn uses_ports(self) -> bool {
        matches!(self, XmitHashPolicy::Layer34 | XmitHashPolicy::Encap34)
    }
}

impl fmt::Display for XmitHashPolicy {
    /// The kernel's name (`layer3+4`); `{:#}` gives sysfs's "name number" form (`layer3+4 1`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write!(f, "{} {}", self.name(), self.number())
        } else {
            f.write_str(self.name())
        }
    }
}

/// The error of parsing an [`XmitHashPolicy`]: neither a policy name nor a policy number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsePolicyError;

impl fmt::Display for ParsePolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "invalid xmit_hash_policy: expected layer2, layer3+4, layer2+3, encap2+3, encap3+4, \
             vlan+srcmac or 0-5",
        )
    }
}

impl std::error::Error for ParsePolicyError {}

impl FromStr for XmitHashPolicy {
    type Err = ParsePolicyError;

    /// Accepts what the kernel's option parser (`bond_opt_parse`) accepts: surrounding
    /// whitespace (e.g. the newline of `echo`) is ignored; a value starting with a digit is a
    /// number (decimal, `0x` hex or leading-`0` octal, as `kstrtoull(.., 0, ..)`), anything
    /// else must be a policy name, exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            let n = parse_kernel_number(s).ok_or(ParsePolicyError)?;
            return XmitHashPolicy::from_number(n).ok_or(ParsePolicyError);
        }
        XmitHashPolicy::ALL.into_iter().find(|p| p.name() == s).ok_or(ParsePolicyError)
    }
}

/// `kstrtoull(s, 0, ..)`: `0x`/`0X` prefix is hex, a leading `0` is octal, else decimal.
fn parse_kernel_number(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// How ICMP is hashed, by kernel generation (only the non-encap policies differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpHash {
    /// Current kernels (the `ntohs` fix of 2021, in 5.12 and stable): the identifier of echo
    /// and timestamp messages feeds `layer3+4` in host order (0 becomes 1), and errors are
    /// hashed on the quoted packet.
    Current,
    /// The first ICMP-aware kernels (5.x before the fix): as `Current` but the identifier is
    /// taken in network byte order (its two octets swapped relative to `Current`).
    RawId,
    /// Older kernels: ICMP has no ports word (it is 0) and errors are hashed on their own
    /// addresses. Linux gained ICMP awareness in bonding around 5.5 (approximate).
    Ignored,
}

/// Kernel generation knobs for [`xmit_hash_compat`](super::xmit_hash_compat).
/// [`HashCompat::CURRENT`] is what [`xmit_hash`](super::xmit_hash) uses;
/// [`HashCompat::for_kernel`] picks the knobs for a kernel version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashCompat {
    /// Before the XDP refactor of `bond_xmit_hash` (5.15) the `layer2` term XORed the EtherType
    /// as the raw big-endian field loaded little-endian (0x0008 for IPv4). Same result for two
    /// slaves, different for three or more.
    pub layer2_raw_ethertype: bool,
    /// From 4.15 (b5f862180d70) until the April 2022 fix (49aefd131739, 5.18 and stable)
    /// `layer2+3` (and `encap2+3`) also dropped the low bit (`>> 1`).
    pub layer23_drop_low_bit: bool,
    /// ICMP treatment.
    pub icmp: IcmpHash,
}

impl HashCompat {
    /// Current kernels (and Debian 12's 6.1, observed on the real driver).
    pub const CURRENT: HashCompat = HashCompat {
        layer2_raw_ethertype: false,
        layer23_drop_low_bit: false,
        icmp: IcmpHash::Current,
    };

    /// The knobs for mainline kernel `major.minor`, by the version each change first shipped
    /// in. Stable branches picked up some fixes earlier (the `layer2+3` fix went to 5.15.y and
    /// 5.10.y, the ICMP identifier fix to 5.10.y), so check a distribution kernel against real
    /// captures when it matters. The ICMP cut-over (5.5) is approximate.
    pub const fn for_kernel(major: u32, minor: u32) -> HashCompat {
        let v = major * 1000 + minor;
        HashCompat {
            layer2_raw_ethertype: v < 5015,
            layer23_drop_low_bit: v >= 4015 && v < 5018,
            icmp: if v < 5005 {
                IcmpHash::Ignored
            } else if v < 5012 {
                IcmpHash::RawId
            } else {
                IcmpHash::Current
            },
        }
    }
}

impl Default for HashCompat {
    fn default() -> Self {
        HashCompat::CURRENT
    }
}
