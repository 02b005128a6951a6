//! The `tun` details of `ip -d link show` (`ip/iptuntap.c` `tun_print_opt`), with the owner
//! and group by name as `/etc/passwd` and `/etc/group` give them.

use netlink_packet_core::{DefaultNla, Nla};
use netlink_packet_route::link::InfoTun;

use crate::iplink::print::{Out, Printer};

/// `tun_print_opt` (`ip/iptuntap.c`).
pub(super) fn print_tun(p: &mut Printer, attrs: &[InfoTun]) {
    let get = |kind: u16| -> Option<Vec<u8>> {
        attrs.iter().find_map(|a| match a {
            InfoTun::Other(n) if n.kind() == kind => Some(nla_bytes(n)),
            _ => None,
        })
    };
    let u8_of = |kind| get(kind).and_then(|b| b.first().copied());
    let u32_of = |kind| {
        get(kind).and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok()).map(u32::from_ne_bytes)
    };
    const OWNER: u16 = 1;
    const GROUP: u16 = 2;
    const TYPE: u16 = 3;
    const PI: u16 = 4;
    const VNET_HDR: u16 = 5;
    const PERSIST: u16 = 6;
    const MULTI_QUEUE: u16 = 7;
    const NUM_QUEUES: u16 = 8;
    const NUM_DISABLED_QUEUES: u16 = 9;
    if let Some(t) = u8_of(TYPE) {
        let word = match t {
            1 => "tun".to_string(),
            2 => "tap".to_string(),
            n => format!("UNKNOWN:{n}"),
        };
        p.string(Out::Any, Some("type"), "type %s ", &word);
    }
    if let Some(v) = u8_of(PI) {
        p.on_off(Out::Any, Some("pi"), "pi %s ", v != 0);
    }
    if let Some(v) = u8_of(VNET_HDR) {
        p.on_off(Out::Any, Some("vnet_hdr"), "vnet_hdr %s ", v != 0);
    }
    if u8_of(MULTI_QUEUE).unwrap_or(0) == 0 {
        if p.is_json() {
            p.bool(Out::Json, Some("multi_queue"), "", false);
        }
    } else {
        p.bool(Out::Any, Some("multi_queue"), "multi_queue ", true);
        if let Some(n) = u32_of(NUM_QUEUES) {
            p.uint(Out::Any, Some("numqueues"), "numqueues %u ", u64::from(n));
        }
        if let Some(n) = u32_of(NUM_DISABLED_QUEUES) {
            p.uint(Out::Any, Some("numdisabled"), "numdisabled %u ", u64::from(n));
        }
    }
    if let Some(v) = u8_of(PERSIST) {
        p.on_off(Out::Any, Some("persist"), "persist %s ", v != 0);
    }
    if let Some(uid) = u32_of(OWNER) {
        match names_lookup(&read_ids("/etc/passwd"), uid) {
            Some(n) => p.string(Out::Any, Some("user"), "user %s ", &n),
            None => p.uint(Out::Any, Some("user"), "user %u ", u64::from(uid)),
        }
    }
    if let Some(gid) = u32_of(GROUP) {
        match names_lookup(&read_ids("/etc/group"), gid) {
            Some(n) => p.string(Out::Any, Some("group"), "group %s ", &n),
            None => p.uint(Out::Any, Some("group"), "group %u ", u64::from(gid)),
        }
    }
}

/// `name:x:ID:...` lines of `/etc/passwd` or `/etc/group`.
fn read_ids(path: &str) -> Vec<(u32, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id = f.nth(1)?.parse().ok()?;
            Some((id, name.to_string()))
        })
        .collect()
}

fn names_lookup(ids: &[(u32, String)], id: u32) -> Option<String> {
    ids.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone())
}

/// The value of an attribute the netlink crate does not model, as bytes.
fn nla_bytes(n: &DefaultNla) -> Vec<u8> {
    let mut buf = vec![0u8; n.value_len()];
    n.emit_value(&mut buf);
    buf
}
