//! iproute2's readers of numbers, addresses and keywords (`lib/utils.c`, `lib/ll_addr.c`):
//! `matches`, `get_u32` and friends with C's base-0 syntax, `get_addr`, `ll_addr_a2n`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::IpError;

/// `matches(prefix, keyword)`: `word` is a non-empty prefix of `keyword`.
pub fn matches(word: &str, keyword: &str) -> bool {
    !word.is_empty() && keyword.starts_with(word)
}

/// `strtoul`/`strtol` with base 0 over the whole string: leading white space, a sign, `0x`
/// hex or leading-`0` octal; `None` if anything is left over or nothing was read. A minus sign
/// negates in 64 bits, as C does.
fn strto(s: &str) -> Option<(bool, u64)> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if h.starts_with(|c: char| c.is_ascii_hexdigit()) {
            (16, h)
        } else {
            (10, &t[..1])
        }
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    if digits.is_empty() {
        return None;
    }
    let v = u64::from_str_radix(digits, radix).ok()?;
    Some((neg, v))
}

/// `get_u32`/`get_u16`/`get_u8` (base 0): at most `max`.
pub(super) fn get_unsigned(s: &str, max: u64) -> Option<u64> {
    let (neg, v) = strto(s)?;
    let v = if neg { v.wrapping_neg() } else { v };
    (v <= max).then_some(v)
}

/// `get_s32` / `get_integer` (base 0): within `i32`.
pub(super) fn get_s32(s: &str) -> Option<i32> {
    let (neg, v) = strto(s)?;
    let v = i64::try_from(v).ok()?;
    i32::try_from(if neg { -v } else { v }).ok()
}

/// `get_index`: a table word, or its index as a decimal number.
pub(super) fn get_index(tbl: &[&str], word: &str) -> Option<usize> {
    let n: Option<i64> = word.parse().ok().filter(|_| {
        let t = word.trim_start();
        !t.is_empty() && t.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit())
    });
    if let Some(i) = n.and_then(|n| usize::try_from(n).ok()).filter(|i| *i < tbl.len()) {
        return Some(i);
    }
    tbl.iter().position(|t| *t == word)
}

/// `get_addr_ipv4`: one to four numbers (base 0, each at most 255) separated by dots.
pub(super) fn get_addr_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut rest = s;
    for (i, byte) in out.iter_mut().enumerate() {
        let end = rest.find('.').unwrap_or(rest.len());
        let (neg, n) = strto(&rest[..end]).filter(|_| end > 0)?;
        if neg && n != 0 {
            return None;
        }
        *byte = u8::try_from(n).ok()?;
        if end == rest.len() {
            break;
        }
        if i == 3 {
            return None;
        }
        rest = &rest[end + 1..];
    }
    Some(Ipv4Addr::from(out))
}

/// `get_addr_1(AF_INET)`: `default`, `any` and `all` are 0.0.0.0.
pub(super) fn get_addr32(s: &str) -> Option<Ipv4Addr> {
    match s {
        "default" | "any" | "all" => Some(Ipv4Addr::UNSPECIFIED),
        s if s.contains(':') => None,
        s => get_addr_ipv4(s),
    }
}

/// `get_addr_1(AF_INET6)`.
pub(super) fn get_addr6(s: &str) -> Option<Ipv6Addr> {
    match s {
        "default" | "any" | "all" => Some(Ipv6Addr::UNSPECIFIED),
        s if s.contains(':') => s.parse().ok(),
        _ => None,
    }
}

/// `ll_addr_a2n`: `aa:bb:...` (each part `%x`, at most 255), or a dotted IPv4 address.
pub fn ll_addr_a2n(s: &str) -> Result<Vec<u8>, IpError> {
    // iproute2 cuts the word at each ':' as it goes: an error names the part it was reading.
    let bad = |part: &str| IpError::new(format!("\"{part}\" is invalid lladdr.\n"), 1);
    if s.contains('.') {
        return get_addr_ipv4(s).map(|a| a.octets().to_vec()).ok_or_else(|| bad(s));
    }
    let mut out = Vec::new();
    for part in s.split(':').take(32) {
        let bad = || bad(part);
        // sscanf("%x"): white space, a sign, an optional 0x, then hex digits (the rest ignored).
        let t = part.trim_start();
        let t = t.strip_prefix('+').unwrap_or(t);
        let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
        let digits: String = t.chars().take_while(char::is_ascii_hexdigit).collect();
        let v = u64::from_str_radix(&digits, 16).map_err(|_| bad())?;
        out.push(u8::try_from(v).map_err(|_| bad())?);
    }
    Ok(out)
}
