//! The kernel's text parsers, reproduced byte for byte where it matters: `bond_opt_parse`
//! (value tables, names or numbers), `in4_pton`, `mac_pton`, `kstrtoint` (module parameters),
//! `dev_valid_name`, and a did-you-mean helper.
//!
//! Every function here is total: any byte string gives a value or `None`, never a panic.

use std::net::Ipv4Addr;

use ubond_wire::MacAddr;

/// `BOND_VALFLAG_DEFAULT`: the entry that the word `default` selects.
pub(crate) const DEFAULT: u8 = 1;
/// `BOND_VALFLAG_MIN`: the lower bound of a numeric range.
pub(crate) const MIN: u8 = 2;
/// `BOND_VALFLAG_MAX`: the upper bound of a numeric range (no MAX entry: no range at all).
pub(crate) const MAX: u8 = 4;

/// One row of a kernel value table (`struct bond_opt_value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Val {
    pub name: &'static str,
    pub value: u64,
    pub flags: u8,
}

pub(crate) const fn val(name: &'static str, value: u64, flags: u8) -> Val {
    Val { name, value, flags }
}

/// `INT_MAX`, the upper bound of the kernel's `bond_intmax_tbl`.
pub(crate) const INT_MAX: u64 = i32::MAX as u64;

/// C `isspace` in the "C" locale.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The lower and upper bound of a table, if it has a range (a `MAX` entry).
pub(crate) fn range(tbl: &[Val]) -> Option<(u64, u64)> {
    let max = tbl.iter().find(|v| v.flags & MAX != 0)?.value;
    let min = tbl.iter().find(|v| v.flags & MIN != 0).map_or(0, |v| v.value);
    Some((min, max))
}

/// Parses an unsigned decimal number the way the kernel's `sscanf("%llu")` does after
/// `bond_opt_parse` has checked that the text holds only digits and white space: leading
/// white space is skipped, digits are read up to the first non-digit. Overflow is refused
/// (the kernel silently wraps modulo 2^64; ubond refuses rather than accept `18446744073709551617`
/// as 1).
fn scan_u64(s: &[u8]) -> Option<u64> {
    let start = s.iter().position(|&b| !is_space(b))?;
    let mut v: u64 = 0;
    let mut any = false;
    for &b in &s[start..] {
        if !b.is_ascii_digit() {
            break;
        }
        any = true;
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    any.then_some(v)
}

/// What `bond_opt_parse` extracted from the text before matching it against the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// Only digits and white space: a number.
    Number(u64),
    /// Anything else: the first white-space-separated word, at most 32 bytes (`%32s`).
    Word(&'a [u8]),
    /// Nothing usable (empty, only white space, or a number that overflows).
    Nothing,
}

/// The first step of `bond_opt_parse`: cut at the first newline, then decide between a number
/// (only digits and white space) and a word (`sscanf("%32s")`).
pub(crate) fn tokenize(raw: &str) -> Token<'_> {
    let bytes = raw.as_bytes();
    let bytes = match bytes.iter().position(|&b| b == b'\n') {
        Some(nl) => &bytes[..nl],
        None => bytes,
    };
    if bytes.iter().all(|&b| b.is_ascii_digit() || is_space(b)) {
        return match scan_u64(bytes) {
            Some(v) => Token::Number(v),
            None => Token::Nothing,
        };
    }
    let start = bytes.iter().position(|&b| !is_space(b)).unwrap_or(bytes.len());
    let rest = &bytes[start..];
    let end = rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len());
    let word = &rest[..end.min(32)];
    if word.is_empty() {
        Token::Nothing
    } else {
        Token::Word(word)
    }
}

/// `bond_opt_parse` for an option with a value table: returns the matched value.
///
/// * A number matches a table entry with that value, else must lie in the table's range
///   (tables without a `MAX` entry, like `mode`, accept only their listed numbers).
/// * A word must equal an entry's name exactly (case-sensitive), or be `default` when the
///   table has an entry flagged default (`lacp_rate`'s table has none, so
///   `lacp_rate=default` is refused, as in the kernel).
/// * Trailing words are ignored (`fast junk` is `fast`), and so is anything after a newline.
pub(crate) fn parse_value(tbl: &[Val], raw: &str) -> Option<u64> {
    match tokenize(raw) {
        Token::Number(n) => {
            if tbl.iter().any(|v| v.value == n) {
                return Some(n);
            }
            let (min, max) = range(tbl)?;
            (n >= min && n <= max).then_some(n)
        }
        Token::Word(w) => tbl
            .iter()
            .find(|v| (w == b"default" && v.flags & DEFAULT != 0) || w == v.name.as_bytes())
            .map(|v| v.value),
        Token::Nothing => None,
    }
}

/// Linux `in4_pton(src, -1, dst, -1, NULL)`: dotted-quad decimal, each part 0..=255 (leading
/// zeros allowed, `010` is ten), exactly four parts. With `delim == -1`, any character that is
/// not a hex digit, `.` or `:` ends the address (so `192.0.2.1\n` and `192.0.2.1 x` parse), and
/// a `:` after the fourth part ends it too. Hex letters are refused.
pub(crate) fn in4_pton(s: &[u8]) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut i = 0usize;
    let mut w: u32 = 0;
    let mut have_digit = false;
    let mut pos = 0usize;
    loop {
        let c = s.get(pos).copied().unwrap_or(0);
        let is_delim = c == 0 || c == b':' || !(c.is_ascii_hexdigit() || c == b'.');
        if c == b'.' || is_delim {
            if !have_digit {
                return None;
            }
            *out.get_mut(i)? = u8::try_from(w).ok()?;
            w = 0;
            have_digit = false;
            i += 1;
            if is_delim {
                return (i == 4).then_some(Ipv4Addr::from(out));
            }
        } else if c.is_ascii_digit() {
            w = w * 10 + u32::from(c - b'0');
            have_digit = true;
            if w > 255 {
                return None;
            }
        } else {
            // a hex letter: IN6PTON_XDIGIT without IN6PTON_DIGIT
            return None;
        }
        if i >= 4 {
            return None;
        }
        pos += 1;
    }
}

/// `bond_is_ip_target_ok`: not the limited broadcast `255.255.255.255`, not in `0.0.0.0/8`.
pub(crate) fn ip_target_ok(ip: Ipv4Addr) -> bool {
    !ip.is_broadcast() && ip.octets()[0] != 0
}

/// `bond_is_ip6_target_ok`: not `::`, not `::1`, not multicast.
pub(crate) fn ip6_target_ok(ip: std::net::Ipv6Addr) -> bool {
    !ip.is_unspecified() && !ip.is_loopback() && !ip.is_multicast()
}

/// Linux `mac_pton`: exactly `xx:xx:xx:xx:xx:xx` (two hex digits per byte, `:` or `-` between
/// them); at least 17 bytes are required and bytes after the 17th are ignored (the trailing
/// newline of a sysfs write).
pub(crate) fn mac_pton(s: &[u8]) -> Option<MacAddr> {
    if s.len() < 17 {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, byte) in out.iter_mut().enumerate() {
        let hi = hex(s[i * 3])?;
        let lo = hex(s[i * 3 + 1])?;
        if i != 5 && s[i * 3 + 2] != b':' && s[i * 3 + 2] != b'-' {
            return None;
        }
        *byte = (hi << 4) | lo;
    }
    Some(MacAddr(out))
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The kernel's `kstrtoll(s, 0)` then a range check to `i32` (`param_set_int`): optional sign,
/// `0x` for hex, a leading `0` for octal (`miimon=010` is 8), one trailing newline allowed.
pub(crate) fn kstrtoint(s: &str) -> Option<i32> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mag = kstrtoull_base0(digits)?;
    let v = i64::try_from(mag).ok()?;
    i32::try_from(if neg { -v } else { v }).ok()
}

/// `kstrtouint(s, 0)`: like [`kstrtoint`] without a `-` sign, range `u32`.
pub(crate) fn kstrtouint(s: &str) -> Option<u32> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let digits = s.strip_prefix('+').unwrap_or(s);
    u32::try_from(kstrtoull_base0(digits)?).ok()
}

fn kstrtoull_base0(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let (radix, body) =
        if b.len() >= 3 && b[0] == b'0' && (b[1] | 0x20) == b'x' && b[2].is_ascii_hexdigit() {
            (16, &s[2..])
        } else if b.first() == Some(&b'0') {
            (8, s)
        } else {
            (10, s)
        };
    if body.is_empty() || !body.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(body, radix).ok()
}

/// `IFNAMSIZ`: interface names are at most 15 bytes.
pub(crate) const IFNAMSIZ: usize = 16;

/// Linux `dev_valid_name`: 1..=15 bytes, not `.` or `..`, no `/`, `:` or white space.
pub(crate) fn dev_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < IFNAMSIZ
        && name != "."
        && name != ".."
        && !name.bytes().any(|b| b == b'/' || b == b':' || is_space(b))
}

/// The first white-space-separated word of `s`, at most `max` bytes (`sscanf("%15s")`), cut
/// on a character boundary.
pub(crate) fn first_word(s: &str, max: usize) -> &str {
    let t = s.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
    let end = t.find(|c: char| c.is_ascii() && is_space(c as u8)).unwrap_or(t.len());
    let mut cut = end.min(max);
    while !t.is_char_boundary(cut) {
        cut -= 1;
    }
    &t[..cut]
}

/// Levenshtein distance, for did-you-mean; inputs longer than 64 bytes are not compared.
pub(crate) fn edit_distance(a: &str, b: &str) -> Option<usize> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > 64 || b.len() > 64 {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()])
}

/// The closest candidate within a distance of a third of the input's length (at least 1, at
/// most 3), or one that the input is a prefix or case-variant of.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = input.to_ascii_lowercase().replace('-', "_");
    let limit = (input.len() / 3).clamp(1, 3);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c == lower {
            return Some(c);
        }
        let Some(d) = edit_distance(&lower, c) else { continue };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODE: &[Val] =
        &[val("balance-rr", 0, DEFAULT), val("active-backup", 1, 0), val("802.3ad", 4, 0)];
    const INTMAX: &[Val] = &[val("off", 0, DEFAULT), val("maxval", INT_MAX, MAX)];
    const RATE: &[Val] = &[val("slow", 0, 0), val("fast", 1, 0)];

    #[test]
    fn opt_parse_like_the_kernel() {
        assert_eq!(parse_value(MODE, "802.3ad"), Some(4));
        assert_eq!(parse_value(MODE, "802.3ad\n"), Some(4));
        assert_eq!(parse_value(MODE, "  802.3ad  trailing"), Some(4));
        assert_eq!(parse_value(MODE, "4"), Some(4));
        assert_eq!(parse_value(MODE, " 4 \n"), Some(4));
        assert_eq!(parse_value(MODE, "4 5"), Some(4));
        assert_eq!(parse_value(MODE, "4 x"), None, "a word, and \"4\" is no name");
        assert_eq!(parse_value(MODE, "7"), None, "no range in the mode table");
        assert_eq!(parse_value(MODE, "802.3AD"), None, "case-sensitive");
        assert_eq!(parse_value(MODE, "default"), Some(0));
        assert_eq!(parse_value(MODE, ""), None);
        assert_eq!(parse_value(MODE, "   "), None);
        assert_eq!(parse_value(MODE, "\n802.3ad"), None, "cut at the first newline");
        assert_eq!(parse_value(MODE, "+4"), None);
        assert_eq!(parse_value(MODE, "-1"), None);
        assert_eq!(parse_value(INTMAX, "maxval"), Some(INT_MAX));
        assert_eq!(parse_value(INTMAX, "2147483648"), None);
        assert_eq!(parse_value(INTMAX, "99999999999999999999999"), None);
        assert_eq!(parse_value(INTMAX, "0100"), Some(100), "sysfs numbers are decimal");
        assert_eq!(parse_value(RATE, "default"), None);
        assert_eq!(parse_value(RATE, "2"), None);
    }

    #[test]
    fn in4_pton_like_the_kernel() {
        assert_eq!(in4_pton(b"192.0.2.1"), Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(in4_pton(b"192.0.2.1\n"), Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(in4_pton(b"010.0.0.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(in4_pton(b"1.2.3.4:80"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(in4_pton(b"1.2.3"), None);
        assert_eq!(in4_pton(b"1.2.3.4.5"), None);
        assert_eq!(in4_pton(b"1.2.3.256"), None);
        assert_eq!(in4_pton(b"1..3.4"), None);
        assert_eq!(in4_pton(b"1.2.3.a"), None);
        assert_eq!(in4_pton(b""), None);
    }

    #[test]
    fn mac_and_ints() {
        assert_eq!(mac_pton(b"02:00:00:00:00:01\n"), Some(MacAddr([2, 0, 0, 0, 0, 1])));
        assert_eq!(mac_pton(b"02-00-00-00-00-0A"), Some(MacAddr([2, 0, 0, 0, 0, 10])));
        assert_eq!(mac_pton(b"2:0:0:0:0:1"), None);
        assert_eq!(kstrtoint("100"), Some(100));
        assert_eq!(kstrtoint("0x64"), Some(100));
        assert_eq!(kstrtoint("010"), Some(8));
        assert_eq!(kstrtoint("-5"), Some(-5));
        assert_eq!(kstrtoint("5\n"), Some(5));
        assert_eq!(kstrtoint("5 "), None);
        assert_eq!(kstrtoint("2147483648"), None);
        assert_eq!(kstrtoint(""), None);
        assert_eq!(kstrtouint("-1"), None);
        assert!(dev_valid_name("eth0"));
        assert!(!dev_valid_name("a/b"));
        assert!(!dev_valid_name("0123456789abcdef"));
        assert_eq!(first_word("  eth0 junk", 15), "eth0");
        assert_eq!(did_you_mean("miimmon", ["mode", "miimon"]), Some("miimon"));
        assert_eq!(did_you_mean("LACP-RATE", ["lacp_rate"]), Some("lacp_rate"));
        assert_eq!(did_you_mean("zzz", ["mode"]), None);
    }
}
