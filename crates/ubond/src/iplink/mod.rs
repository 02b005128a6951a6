//! `ubond link ...`: the `ip link` words, so that a script written for the kernel's bonding
//! driver runs with `ip` replaced by `ubond`.
//!
//! ```text
//! ubond link add bond0 type bond mode 802.3ad miimon 100 lacp_rate fast xmit_hash_policy layer3+4
//! ubond link set eth0 master bond0          ubond link set eth0 nomaster
//! ubond link set bond0 type bond min_links 1
//! ubond link set eth0 type bond_slave prio 10
//! ubond link set bond0 up                   ubond link del bond0
//! ubond -d link show bond0                  ubond -d -j link show eth0
//! ```
//!
//! The words are read as iproute2 reads them ([`words`]), with its errors and exit statuses.
//! A bond of the ubond daemon and its slaves are changed through the daemon (bond options with
//! rtnetlink's rules: [`ubond_core::options::netlink`]); every other interface, and the
//! interface-level words of a bond's device (up, down, mtu, ...), through rtnetlink, as `ip`
//! does. `show` prints the kernel's view of every interface, with the daemon's bonds and slaves
//! described as the kernel describes its own ([`model`]), in `ip`'s formats ([`show`]).

pub mod model;
pub mod print;
pub mod show;
pub mod words;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage, LinkMode, State,
};
use ubond_core::options::netlink::{changelink, extack_message};
use ubond_core::options::BondOptions;
use ubond_sys::link::LinkChange;

use crate::control::{self, Request as Ctl, Response};
use model::DaemonBond;
use print::Printer;
use show::{Filter, Names, Style};
use words::{Command, Devices, IpError, Kind, Request, ShowArgs};

/// `ip`'s global options that `ubond link` honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Globals {
    /// `-d`, `-details`.
    pub details: bool,
    /// `-j`, `-json`.
    pub json: bool,
    /// `-p`, `-pretty`.
    pub pretty: bool,
    /// `-o`, `-oneline`.
    pub oneline: bool,
    /// `-br`, `-brief`.
    pub brief: bool,
    /// `-n NETNS`, `-netns NETNS`.
    pub netns: Option<String>,
}

/// The process's arguments, if they are `ubond [--control PATH] [IP-OPTIONS] link ...`:
/// the control socket given, the options and the words after `link`. `link` may be
/// abbreviated as `ip` allows (`l`, `li`, ...).
pub fn recognise(args: &[String]) -> Option<(Option<PathBuf>, Vec<String>, Vec<String>)> {
    let mut control = None;
    let mut options = Vec::new();
    let mut i = 1;
    while let Some(a) = args.get(i) {
        if a == "--control" {
            control = Some(PathBuf::from(args.get(i + 1)?));
            i += 2;
            continue;
        }
        if let Some(p) = a.strip_prefix("--control=") {
            control = Some(PathBuf::from(p));
        } else if a.starts_with('-') && a.len() > 1 {
            options.push(a.clone());
            // The options that take a value.
            let o = a.strip_prefix('-').unwrap_or(a);
            let o = o.strip_prefix('-').unwrap_or(o);
            if ["netns", "n"].contains(&o) || (o.len() > 1 && "netns".starts_with(o)) {
                options.push(args.get(i + 1)?.clone());
                i += 1;
            }
        } else {
            return words::matches(a, "link").then(|| (control, options, args[i + 1..].to_vec()));
        }
        i += 1;
    }
    None
}

/// Reads `ip`'s global options (`ip.c`'s order of prefix matches).
pub fn parse_globals(options: &[String]) -> Result<Globals, IpError> {
    let mut g = Globals::default();
    let mut i = 0;
    while let Some(raw) = options.get(i) {
        let opt = raw
            .strip_prefix('-')
            .map_or(raw.as_str(), |o| o.strip_prefix('-').map_or(raw.as_str(), |_| o));
        let m = |kw: &str| words::matches(opt, kw);
        let unsupported = || {
            IpError::new(
                format!("ubond: the ip option \"{raw}\" is not supported by \"ubond link\"\n"),
                255,
            )
        };
        if m("-loops") || m("-family") || m("-human") || m("-human-readable") || m("-iec") {
            return Err(unsupported());
        } else if matches!(opt, "-4" | "-6" | "-0" | "-M" | "-B") {
            // Families: `ip link` lists links whatever the family.
        } else if m("-stats") || m("-statistics") {
            return Err(unsupported());
        } else if m("-details") {
            g.details = true;
        } else if m("-resolve") || m("-timestamp") || m("-tshort") || m("-Version") {
            return Err(unsupported());
        } else if m("-oneline") {
            g.oneline = true;
        } else if m("-force") || m("-batch") {
            return Err(unsupported());
        } else if m("-brief") {
            g.brief = true;
        } else if m("-json") {
            g.json = true;
        } else if m("-pretty") {
            g.pretty = true;
        } else if m("-rcvbuf") {
            return Err(unsupported());
        } else if opt == "-c" || m("-color") || opt.starts_with("-color=") {
            // Colours only for a terminal that asks for them: never here.
        } else if m("-help") {
            return Err(IpError::new(words::USAGE, 255));
        } else if m("-netns") {
            i += 1;
            let ns = options.get(i).ok_or_else(|| {
                IpError::new("Command line is not complete. Try option \"help\"\n", 255)
            })?;
            g.netns = Some(ns.clone());
        } else if m("-Numeric") || m("-all") || opt == "-echo" {
            return Err(unsupported());
        } else {
            return Err(IpError::new(
                format!("Option \"{raw}\" is unknown, try \"ip -help\".\n"),
                255,
            ));
        }
        i += 1;
    }
    Ok(g)
}

/// Runs `ubond [OPTIONS] link WORDS...` and returns `ip`'s exit status.
pub fn main(socket: &Path, options: &[String], words: &[String]) -> ExitCode {
    let result = parse_globals(options).and_then(|g| match g.netns.clone() {
        None => run(socket, &g, words),
        Some(ns) => ubond_sys::netns::NetNs::open(&ns)
            .map_err(|e| {
                let why = strerror(e.raw_os_error().unwrap_or(2));
                IpError::new(format!("Cannot open network namespace \"{ns}\": {why}\n"), 255)
            })
            .and_then(|netns| {
                let socket = socket.to_path_buf();
                let words = words.to_vec();
                netns.run(move || run(&socket, &g, &words)).map_err(|e| {
                    IpError::new(
                        format!("setting the network namespace \"{ns}\" failed: {e}\n"),
                        255,
                    )
                })?
            }),
    });
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{}", e.message);
            ExitCode::from(e.status)
        }
    }
}

/// The interfaces of the namespace, as the kernel describes them.
struct Links {
    msgs: Vec<LinkMessage>,
}

impl Links {
    fn read() -> Result<Links, IpError> {
        ubond_sys::link::link_messages(None)
            .map(|msgs| Links { msgs })
            .map_err(|e| IpError::new(format!("Cannot send dump request: {}\n", e.io_error()), 1))
    }
}

impl Devices for Links {
    fn index(&self, name: &str) -> Option<u32> {
        self.msgs.iter().find(|m| show::name_of(m) == Some(name)).map(|m| m.header.index)
    }
}

/// The daemon's side of a command.
struct Daemon<'a> {
    socket: &'a Path,
}

impl Daemon<'_> {
    /// One request; a failure is worded as the kernel words a refusal.
    fn call(&self, req: &Ctl) -> Result<String, IpError> {
        let resp = control::call(self.socket, req)
            .map_err(|e| IpError::new(format!("ubond: {e:#}\n"), 2))?;
        match &resp.error {
            // What the kernel adjusts (a rounded delay, a monitor switched off) goes to its
            // log, not to `ip`'s output: the daemon's warnings are left out as well.
            None => Ok(resp.output),
            Some(_) => Err(refusal(&resp)),
        }
    }

    /// The daemon's bonds (their status only), none when it does not answer.
    fn statuses(&self) -> Vec<model::Status> {
        control::call(self.socket, &Ctl::Status { bond: None, json: true })
            .ok()
            .and_then(|r| serde_json::from_str(&r.output).ok())
            .unwrap_or_default()
    }

    /// The daemon's bonds with their options and their slaves' options, none when no daemon
    /// answers.
    fn bonds(&self) -> Vec<DaemonBond> {
        self.statuses()
            .into_iter()
            .map(|status| {
                let get = Ctl::Get { bond: status.name.clone(), option: None };
                let options = control::call(self.socket, &get)
                    .map(|r| model::parse_lines(&r.output))
                    .unwrap_or_default();
                let slave_options = status
                    .slaves
                    .iter()
                    .filter_map(|s| {
                        let req = Ctl::GetSlave { iface: s.name.clone(), option: None };
                        let r = control::call(self.socket, &req).ok()?;
                        r.error.is_none().then(|| (s.name.clone(), model::parse_lines(&r.output)))
                    })
                    .collect();
                DaemonBond { status, options, slave_options }
            })
            .collect()
    }
}

/// `strerror`.
fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A daemon's refusal as `ip` shows the kernel's: `Error: TEXT.` (or `RTNETLINK answers:`),
/// then what the kernel would have logged (here: the daemon's explanation).
fn refusal(resp: &Response) -> IpError {
    let detail = resp.error.clone().unwrap_or_default();
    let message = match resp.errno {
        Some(errno) => match extack_message(errno) {
            Some(text) => format!("Error: {text}.\nubond: {detail}\n"),
            None => format!("RTNETLINK answers: {}\nubond: {detail}\n", strerror(errno)),
        },
        None if detail.ends_with('.') => format!("Error: {detail}\n"),
        None => format!("Error: {detail}.\n"),
    };
    IpError::new(message, 2)
}

/// A kernel refusal through rtnetlink, as `ip` prints it.
fn kernel_refusal(e: &ubond_sys::SysError) -> IpError {
    let message = match e.kernel_message() {
        Some(m) if m.ends_with('.') => format!("Error: {m}\n"),
        Some(m) => format!("Error: {m}.\n"),
        None => format!("RTNETLINK answers: {}\n", strerror(e.raw_os_error().unwrap_or(5))),
    };
    IpError::new(message, 2)
}

fn not_supported() -> IpError {
    IpError::new("RTNETLINK answers: Operation not supported\n", 2)
}

/// One `ip link` command; the text for standard output.
fn run(socket: &Path, g: &Globals, words: &[String]) -> Result<String, IpError> {
    let links = Links::read()?;
    let daemon = Daemon { socket };
    match words::parse(words, &links)? {
        Command::Show(args) => show_links(g, &args, links, &daemon.bonds()),
        Command::Add(r) => add(&r, &links, &daemon).map(|()| String::new()),
        Command::Set(r) => set(&r, &links, &daemon).map(|()| String::new()),
        Command::Delete(r) => delete(&r, &daemon).map(|()| String::new()),
    }
}

fn show_links(
    g: &Globals,
    args: &ShowArgs,
    links: Links,
    bonds: &[DaemonBond],
) -> Result<String, IpError> {
    let mut msgs = links.msgs;
    model::overlay(&mut msgs, bonds);
    // A bond's data-path end is ubond's business, not the user's: a kernel bond has none.
    msgs.retain(|m| !model::is_data_path_end(m, bonds));
    let groups = show::read_groups();
    let names = Names {
        links: msgs
            .iter()
            .filter_map(|m| {
                Some((m.header.index, (show::name_of(m)?.to_string(), m.header.flags.bits())))
            })
            .collect(),
        // `link-netns NAME` (text only) needs the ids of the named namespaces.
        netns: if !g.json
            && msgs
                .iter()
                .any(|m| m.attributes.iter().any(|a| matches!(a, LinkAttribute::LinkNetNsId(_))))
        {
            ubond_sys::netns::named_ids()
        } else {
            Vec::new()
        },
        groups: groups.clone(),
    };
    let index_of = |n: &str| names.links.iter().find(|(_, (name, _))| name == n).map(|(i, _)| *i);
    let group = match &args.group {
        None => None,
        Some(w) => Some(
            show::group_number(&groups, w)
                .ok_or_else(|| IpError::invarg("Invalid \"group\" value\n", w))?,
        ),
    };
    let listed = Filter {
        master: args.master,
        nomaster: args.nomaster,
        kind: args.kind.clone(),
        slave_kind: args.slave_kind.clone(),
        group,
        ..Filter::default()
    };
    let printed = Filter { up: args.up, down: args.down, ..Filter::default() };
    let style = Style { details: g.details, brief: g.brief };
    let mut p = if g.json { Printer::json(g.pretty) } else { Printer::text(g.oneline) };
    match args.dev.as_deref().and_then(index_of) {
        Some(index) if group.is_none() => {
            // `iplink_get`: one interface, an empty object if a filter hides it.
            p.open_object(None);
            if let Some(m) = msgs.iter().find(|m| m.header.index == index) {
                let only = Filter { ifindex: Some(index), ..listed.clone() };
                if show::passes(m, &only) && show::passes(m, &printed) {
                    show::print_link(&mut p, m, style, &names);
                }
            }
            p.close_object();
        }
        dev => {
            let only = Filter { ifindex: dev, ..listed };
            for m in msgs.iter().filter(|m| show::passes(m, &only)) {
                p.open_object(None);
                if show::passes(m, &printed) {
                    show::print_link(&mut p, m, style, &names);
                }
                p.close_object();
            }
        }
    }
    Ok(p.finish())
}

/// The daemon's bond named `name`, if it is one.
fn bond_named<'a>(bonds: &'a [model::Status], name: &str) -> Option<&'a model::Status> {
    bonds.iter().find(|b| b.name == name)
}

/// The daemon's bond that has `iface` as a slave.
fn bond_of<'a>(bonds: &'a [model::Status], iface: &str) -> Option<&'a model::Status> {
    bonds.iter().find(|b| b.slaves.iter().any(|s| s.name == iface))
}

/// The interface-level words a bond's device cannot take (the daemon owns what they change).
fn bond_device_refusals(dev: &str, r: &Request) -> Result<(), IpError> {
    let words = [
        (
            r.address.is_some(),
            "address",
            "its address is its first slave's, or follows fail_over_mac",
        ),
        (r.broadcast.is_some(), "broadcast", "its broadcast address is Ethernet's"),
        (
            r.name.is_some(),
            "name",
            "the daemon knows the bond by its name; delete and re-create it",
        ),
        (r.numtxqueues.is_some(), "numtxqueues", "its device has one queue"),
        (r.numrxqueues.is_some(), "numrxqueues", "its device has one queue"),
        (r.carrier.is_some(), "carrier", "its carrier is its slaves'"),
    ];
    match words.iter().find(|(given, _, _)| *given) {
        None => Ok(()),
        Some((_, word, why)) => Err(IpError::new(
            format!("ubond: {dev} is a ubond bond: \"{word}\" cannot be set on it ({why})\n"),
            1,
        )),
    }
}

/// The kernel's order of `bond_slave_changelink`; the last value of each counts.
fn slave_writes(attrs: &[words::SlaveAttr]) -> Vec<(&'static str, i64)> {
    ["queue_id", "prio", "actor_port_prio"]
        .iter()
        .filter_map(|o| attrs.iter().rev().find(|a| a.option == *o).map(|a| (*o, a.value)))
        .collect()
}

/// The generic part of a request as an `RTM_NEWLINK` for the kernel (without `master` when
/// `skip_master`); `None` if there is nothing to send.
fn link_message(
    index: u32,
    r: &Request,
    groups: &[(u32, String)],
    skip_master: bool,
    master_index: Option<u32>,
) -> Result<Option<LinkMessage>, IpError> {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.header.flags = LinkFlags::from_bits_retain(r.flags);
    m.header.change_mask = LinkFlags::from_bits_retain(r.change);
    let a = &mut m.attributes;
    if let Some(v) = &r.address {
        a.push(LinkAttribute::Address(v.clone()));
    }
    if let Some(v) = &r.broadcast {
        a.push(LinkAttribute::Broadcast(v.clone()));
    }
    if let Some(v) = r.txqlen {
        a.push(LinkAttribute::TxQueueLen(v));
    }
    if let Some(v) = r.mtu {
        a.push(LinkAttribute::Mtu(v));
    }
    if !skip_master {
        if let Some(master) = &r.master {
            a.push(LinkAttribute::Controller(if master.is_some() {
                master_index.unwrap_or(0)
            } else {
                0
            }));
        }
    }
    if let Some(v) = r.carrier {
        a.push(LinkAttribute::Carrier(u8::from(v)));
    }
    if let Some(v) = &r.alias {
        a.push(LinkAttribute::IfAlias(v.clone()));
    }
    if let Some(w) = &r.group {
        let n = show::group_number(groups, w)
            .ok_or_else(|| IpError::invarg("Invalid \"group\" value\n", w))?;
        a.push(LinkAttribute::Group(n));
    }
    if let Some(v) = r.linkmode {
        a.push(LinkAttribute::Mode(LinkMode::from(v)));
    }
    if let Some(v) = r.operstate {
        a.push(LinkAttribute::OperState(State::from(v)));
    }
    if let Some(v) = r.numtxqueues {
        a.push(LinkAttribute::NumTxQueues(v));
    }
    if let Some(v) = r.numrxqueues {
        a.push(LinkAttribute::NumRxQueues(v));
    }
    if let Some(v) = r.addrgenmode {
        a.push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(vec![
            AfSpecInet6::AddrGenMode(In6AddrGenMode::from(v)),
        ])]));
    }
    if let Some(v) = r.protodown {
        a.push(LinkAttribute::ProtoDown(u8::from(v)));
    }
    let sizes: [fn(u32) -> LinkAttribute; 5] = [
        LinkAttribute::GsoMaxSize,
        LinkAttribute::GsoMaxSegs,
        LinkAttribute::GroMaxSize,
        LinkAttribute::GsoIpv4MaxSize,
        LinkAttribute::GroIpv4MaxSize,
    ];
    for (v, f) in r.sizes.iter().zip(sizes) {
        if let Some(v) = v {
            a.push(f(*v));
        }
    }
    let empty = m.attributes.is_empty() && r.change == 0;
    Ok((!empty).then_some(m))
}

/// An `RTM_NEWLINK` to the kernel, which creates (`create`) or changes an interface.
fn send(msg: LinkMessage, create: bool, iface: &str) -> Result<(), IpError> {
    let change = if create { LinkChange::Create } else { LinkChange::Set };
    ubond_sys::link::change_link(change, msg, iface).map_err(|e| kernel_refusal(&e))
}

/// `ip link add`.
fn add(r: &Request, links: &Links, daemon: &Daemon<'_>) -> Result<(), IpError> {
    let Some(name) = r.dev.clone() else {
        return Err(IpError::new("Not enough information: \"dev\" argument is required.\n", 255));
    };
    let statuses = daemon.statuses();
    let master_index = r.master.clone().flatten().and_then(|m| links.index(&m));
    let ubond_master = r.master.clone().flatten().filter(|m| bond_named(&statuses, m).is_some());
    match &r.kind {
        Some(Kind::Bond(attrs)) => {
            add_bond(r, &name, attrs, links, daemon, ubond_master, master_index)
        }
        _ => add_other(r, &name, daemon, ubond_master, master_index),
    }
}

/// `ip link add NAME type KIND` of any kind but `bond`: the kernel makes it (then a ubond master
/// enslaves it).
fn add_other(
    r: &Request,
    name: &str,
    daemon: &Daemon<'_>,
    ubond_master: Option<String>,
    master_index: Option<u32>,
) -> Result<(), IpError> {
    let groups = show::read_groups();
    let mut m =
        link_message(0, r, &groups, ubond_master.is_some(), master_index)?.unwrap_or_default();
    m.attributes.insert(0, LinkAttribute::IfName(name.to_string()));
    // The peer's namespace stays open until the kernel has moved the peer there.
    let mut ns_file = None;
    let info = match &r.kind {
        Some(Kind::Veth(peer)) => {
            let mut info = vec![LinkInfo::Kind(InfoKind::Veth)];
            if let Some(peer) = peer {
                let mut p = link_message(0, peer, &groups, true, None)?.unwrap_or_default();
                if let Some(pname) = &peer.dev {
                    p.attributes.insert(0, LinkAttribute::IfName(pname.clone()));
                }
                if let Some(ns) = &peer.netns {
                    let file = ubond_sys::netns::NetNs::open(ns)
                        .and_then(|n| n.file())
                        .map_err(|_| IpError::invarg("Invalid \"netns\" value\n", ns))?;
                    use std::os::fd::AsRawFd;
                    p.attributes.push(LinkAttribute::NetNsFd(file.as_raw_fd()));
                    ns_file = Some(file);
                }
                info.push(LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))));
            }
            info
        }
        Some(Kind::Other(k)) => vec![LinkInfo::Kind(InfoKind::Other(k.clone()))],
        Some(Kind::BondSlave(_)) => vec![LinkInfo::Kind(InfoKind::Other("bond_slave".into()))],
        Some(Kind::Bond(_)) | None => Vec::new(),
    };
    m.attributes.push(LinkAttribute::LinkInfo(info));
    send(m, true, name)?;
    drop(ns_file);
    if let Some(bond) = ubond_master {
        daemon.call(&Ctl::Enslave { bond, ifaces: vec![name.to_string()] })?;
    }
    Ok(())
}

/// `ip link add NAME type bond ...`: the daemon makes the bond, then sets each attribute with
/// rtnetlink's rules; a refusal deletes it again, as the kernel's newlink does.
fn add_bond(
    r: &Request,
    name: &str,
    attrs: &[ubond_core::options::netlink::BondAttr],
    links: &Links,
    daemon: &Daemon<'_>,
    ubond_master: Option<String>,
    master_index: Option<u32>,
) -> Result<(), IpError> {
    let name = name.to_string();
    let groups = show::read_groups();
    if links.index(&name).is_some() {
        return Err(IpError::new("RTNETLINK answers: File exists\n", 2));
    }
    bond_device_refusals(&name, &Request { name: None, ..r.clone() })?;
    let plan = changelink(attrs, &BondOptions::default());
    daemon.call(&Ctl::NewLink { bond: name.clone() })?;
    let undo = |e: IpError| {
        let _ = daemon.call(&Ctl::Del { bond: name.clone() });
        e
    };
    for w in &plan.writes {
        let req =
            Ctl::Set { bond: name.clone(), option: w.option.to_string(), value: w.value.clone() };
        daemon.call(&req).map_err(undo)?;
    }
    if let Some(r) = plan.refusal {
        return Err(undo(IpError::new(format!("Error: {}.\n", r.message), 2)));
    }
    let index = ubond_sys::link::ifindex(&name)
        .map_err(|e| undo(IpError::new(format!("ubond: {e}\n"), 2)))?;
    if let Some(m) = link_message(index, r, &groups, ubond_master.is_some(), master_index)? {
        send(m, false, &name).map_err(undo)?;
    }
    if let Some(bond) = ubond_master {
        daemon.call(&Ctl::Enslave { bond, ifaces: vec![name.clone()] }).map_err(undo)?;
    }
    Ok(())
}

/// `ip link set`.
fn set(r: &Request, links: &Links, daemon: &Daemon<'_>) -> Result<(), IpError> {
    let Some(dev) = r.dev.clone() else {
        return Err(IpError::new("Not enough information: \"dev\" argument is required.\n", 255));
    };
    let index = links.index(&dev).ok_or_else(|| IpError::nodev(&dev))?;
    let statuses = daemon.statuses();
    let own_bond = bond_named(&statuses, &dev).is_some();
    let slave_of = bond_of(&statuses, &dev).map(|b| b.name.clone());
    if own_bond {
        bond_device_refusals(&dev, r)?;
    }
    if slave_of.is_some() && r.name.is_some() {
        return Err(IpError::new(
            format!("ubond: {dev} is a slave of a ubond bond: release it before renaming it\n"),
            1,
        ));
    }
    // The kind's part first, as rtnetlink does (changelink, then the device's settings).
    match &r.kind {
        Some(Kind::Bond(attrs)) if !attrs.is_empty() => {
            if !own_bond {
                return Err(not_supported());
            }
            let opts =
                model::parse_lines(&daemon.call(&Ctl::Get { bond: dev.clone(), option: None })?);
            let list = |k: &str| opts.get(k).cloned().unwrap_or_default();
            let current = BondOptions {
                arp_ip_target: list("arp_ip_target")
                    .split_whitespace()
                    .filter_map(|t| t.parse().ok())
                    .collect(),
                ns_ip6_target: list("ns_ip6_target")
                    .split_whitespace()
                    .filter_map(|t| t.parse().ok())
                    .collect(),
                ..BondOptions::default()
            };
            let plan = changelink(attrs, &current);
            for w in &plan.writes {
                let req = Ctl::Set {
                    bond: dev.clone(),
                    option: w.option.to_string(),
                    value: w.value.clone(),
                };
                daemon.call(&req)?;
            }
            if let Some(refused) = plan.refusal {
                return Err(IpError::new(format!("Error: {}.\n", refused.message), 2));
            }
        }
        Some(Kind::BondSlave(attrs)) if !attrs.is_empty() => {
            if slave_of.is_none() {
                return Err(not_supported());
            }
            for (option, value) in slave_writes(attrs) {
                let req = Ctl::SetSlave {
                    iface: dev.clone(),
                    option: option.to_string(),
                    value: value.to_string(),
                };
                daemon.call(&req)?;
            }
        }
        Some(Kind::Bond(_) | Kind::BondSlave(_)) | None => {}
        Some(Kind::Veth(_) | Kind::Other(_)) => {
            if own_bond || slave_of.is_some() {
                return Err(not_supported());
            }
        }
    }
    let groups = show::read_groups();
    let new_master = r.master.clone().flatten();
    let ubond_master = new_master.clone().filter(|m| bond_named(&statuses, m).is_some());
    let master_index = new_master.as_deref().and_then(|m| links.index(m));
    let daemon_master = r.master.is_some() && (ubond_master.is_some() || slave_of.is_some());
    if let Some(mut m) = link_message(index, r, &groups, daemon_master, master_index)? {
        if let Some(n) = &r.name {
            m.attributes.push(LinkAttribute::IfName(n.clone()));
        }
        send(m, false, &dev)?;
    } else if let Some(n) = &r.name {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes.push(LinkAttribute::IfName(n.clone()));
        send(m, false, &dev)?;
    }
    if daemon_master {
        if slave_of.is_some() && slave_of == ubond_master {
            return Ok(()); // Already its slave: nothing to do, as in the kernel.
        }
        if let Some(old) = &slave_of {
            daemon.call(&Ctl::Release { bond: old.clone(), ifaces: vec![dev.clone()] })?;
        }
        match ubond_master {
            Some(bond) => {
                daemon.call(&Ctl::Enslave { bond, ifaces: vec![dev.clone()] })?;
            }
            None if new_master.is_some() => {
                let mut m = LinkMessage::default();
                m.header.index = index;
                m.attributes.push(LinkAttribute::Controller(master_index.unwrap_or(0)));
                send(m, false, &dev)?;
            }
            None => {}
        }
    }
    Ok(())
}

/// `ip link delete`.
fn delete(r: &Request, daemon: &Daemon<'_>) -> Result<(), IpError> {
    let Some(dev) = r.dev.clone() else {
        return Err(IpError::new("Not enough information: \"dev\" argument is required.\n", 255));
    };
    if bond_named(&daemon.statuses(), &dev).is_some() {
        daemon.call(&Ctl::Del { bond: dev })?;
        return Ok(());
    }
    let index = ubond_sys::link::ifindex(&dev).map_err(|_| IpError::nodev(&dev))?;
    let mut m = LinkMessage::default();
    m.header.index = index;
    ubond_sys::link::change_link(LinkChange::Delete, m, &dev).map_err(|e| kernel_refusal(&e))
}
