//! `ubond`: userspace Linux NIC bonding.
//!
//! The daemon (`ubond daemon`) and its control verbs (`add`, `enslave`, `release`, `set`,
//! `get`, `del`, `status`); also capture decoding, the lab, and configuration tools.

mod access;
mod assets;
mod control;
mod daemon;
mod demo;
mod doctor;
mod iplink;
mod lab_cli;
mod metrics;
mod privs;
mod probe;
mod up;

use std::fmt::Write as _;
use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use control::Request;
use pcap_file::pcap::PcapReader;
use ubond_config::files::Files as _;
use ubond_config::{Format, SourceFile};
use ubond_wire::slow::{self, LacpduRepr, MarkerRepr, PortInfo, Subtype};
use ubond_wire::MacAddr;

/// `ubond daemon --help`'s (and ubond-daemon(8)'s) last part.
const DAEMON_METRICS_HELP: &str = "\
Metrics:
  --metrics serves node_exporter's node_bonding_slaves and node_bonding_active (so its \
dashboards and the NodeBondingDegraded alert see ubond's bonds) and the ubond_* families: \
mode, MII status, active slave, failovers, link failures, the LACP aggregator, port states, \
partner, churn, LACPDU and Marker counters, data path and fast-path frame counters. A \
Prometheus scrape job:

    scrape_configs:
      - job_name: ubond
        static_configs:
          - targets: ['127.0.0.1:9677']

  --metrics-textfile /var/lib/prometheus/node-exporter/ubond.prom has node_exporter publish \
the same metrics; node_textfile_mtime_seconds then shows when the daemon last wrote them.";

#[derive(Parser)]
#[command(name = "ubond", version, about = "Userspace Linux NIC bonding (link aggregation)")]
struct Cli {
    /// The daemon's control socket (default: $UBOND_CONTROL, else /run/ubond/control.sock).
    #[arg(long, global = true)]
    control: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bonding daemon in the foreground (SIGTERM or SIGINT stops it cleanly).
    #[command(after_long_help = DAEMON_METRICS_HELP)]
    Daemon {
        /// Let this group's members use the control socket too (default: root only).
        #[arg(long)]
        group: Option<String>,
        /// The data path: `bpf` forwards data frames in the kernel (tc programs on the bond
        /// and the slaves), `user` through the daemon, `auto` bpf when it loads.
        #[arg(long, value_enum, default_value_t)]
        datapath: daemon::DatapathChoice,
        /// How the fast path's programs hook into the interfaces: `tcx` links (Linux 6.6 and
        /// later), `clsact` (a `bpf` filter on the clsact qdisc, as `tc filter add ... bpf da`
        /// makes; older kernels), `auto` tcx where the kernel has it, else clsact.
        #[arg(long, value_enum, default_value_t)]
        tc_hook: daemon::TcHook,
        /// A mounted BPF file system for the fast path's pins (default: /sys/fs/bpf, mounted
        /// there if it is not). Pins in a bpffs that only this daemon's mount namespace sees
        /// die with it, and the fast path with them.
        #[arg(long, value_name = "DIR")]
        bpffs: Option<PathBuf>,
        /// Threads for the userspace data path, apart from the control plane's (each flow's
        /// frames stay on one thread); 0: one per CPU, at most 4.
        #[arg(long, value_name = "N", default_value_t = 0,
              value_parser = clap::value_parser!(u16).range(0..=daemon::MAX_DATA_THREADS as i64))]
        data_threads: u16,
        /// Serve Prometheus metrics over HTTP (GET /metrics) at ADDR: PORT (on 127.0.0.1),
        /// IPV4:PORT or [IPV6]:PORT. Alone, 127.0.0.1:9677; 0.0.0.0:9677 for every address.
        /// Off unless given.
        #[arg(
            long,
            value_name = "ADDR",
            num_args = 0..=1,
            default_missing_value = daemon::DEFAULT_METRICS_LISTEN,
            value_parser = daemon::parse_listen
        )]
        metrics: Option<std::net::SocketAddr>,
        /// Write the same metrics to PATH for node_exporter's textfile collector (a *.prom
        /// file in its --collector.textfile.directory): atomically, within about a second of a
        /// state change and every 15 s; removed when the daemon stops.
        #[arg(long, value_name = "PATH")]
        metrics_textfile: Option<PathBuf>,
    },
    /// Build two hosts joined by two links, bond them with 802.3ad, and show it working
    /// (as root: real namespaces, removed afterwards; otherwise in the simulator).
    Demo,
    /// Create a bond (up), its options as `ip link add BOND type bond` takes them, written
    /// `OPTION=VALUE` (`mode=802.3ad lacp_rate=fast miimon=100`): rtnetlink's rules.
    Add {
        /// The bond's name (its tap device gets it).
        bond: String,
        /// OPTION=VALUE ...
        options: Vec<String>,
    },
    /// Enslave interfaces to a bond.
    Enslave {
        /// The bond.
        bond: String,
        /// The interfaces.
        #[arg(required = true)]
        ifaces: Vec<String>,
    },
    /// Release interfaces from a bond (their MAC and state are restored).
    Release {
        /// The bond.
        bond: String,
        /// The interfaces.
        #[arg(required = true)]
        ifaces: Vec<String>,
    },
    /// Set a bond option with sysfs semantics (`slaves +eth2` / `slaves -eth2` too).
    Set {
        /// The bond.
        bond: String,
        /// The option.
        option: String,
        /// The value.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Set a per-slave option (`prio`, `queue_id`, `actor_port_prio`), like
    /// `ip link set IFACE type bond_slave OPTION VALUE`.
    SetSlave {
        /// The slave.
        iface: String,
        /// The option.
        option: String,
        /// The value.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Read a per-slave option (`prio`, `queue_id`, `actor_port_prio`), or all three.
    GetSlave {
        /// The slave.
        iface: String,
        /// The option.
        option: Option<String>,
    },
    /// Read a bond option, or all of them.
    Get {
        /// The bond.
        bond: String,
        /// The option.
        option: Option<String>,
    },
    /// Delete a bond (its slaves are released).
    Del {
        /// The bond.
        bond: String,
    },
    /// Delete every bond (slaves given back, devices and in-kernel programs removed) and stop
    /// the daemon. Stopping the daemon otherwise (SIGTERM, `systemctl stop`, a crash) keeps
    /// every bond running for the next daemon to adopt.
    Shutdown,
    /// The bond's report, as /proc/net/bonding/BOND shows it.
    Status {
        /// One bond (default: all).
        bond: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Bring bonds up from configuration files: create them (or set the options that differ),
    /// enslave their slaves, bring the device up and add its addresses and gateway. Run it as
    /// root in the daemon's network namespace.
    Up {
        /// The bonds (default: those the files start at boot: `auto` in interfaces, ONBOOT not
        /// `no`, autoconnect not `false`; the others are named as skipped).
        bonds: Vec<String>,
        /// The files, in any format `ubond config` reads (default: the system's own:
        /// /etc/network/interfaces, ifcfg-*, modprobe.d, systemd-networkd, NetworkManager,
        /// netplan, /etc/ubond/*.toml).
        #[arg(long, num_args = 1.., value_name = "FILE")]
        from: Vec<PathBuf>,
        /// The files' format, if it cannot be detected.
        #[arg(long)]
        format: Option<Format>,
        /// Read the system's files below this directory instead of / (for tests).
        #[arg(long, hide = true, default_value = "/")]
        root: PathBuf,
    },
    /// Explain what is wrong with bonds, with the evidence and the fix: the kernel's
    /// (/proc/net/bonding/*) and ubond's; exits 1 if it finds a warning or an error.
    Doctor {
        /// Bond names (the kernel's or the daemon's) or report files (copies of
        /// /proc/net/bonding/BOND from any host; `-` reads standard input). Several reports are
        /// also compared with each other (the two ends of a link). Default: every bond here.
        targets: Vec<String>,
    },
    /// The `ip link` words, for scripts written for the kernel's bonding driver: `ubond [-d]
    /// [-j] link show|add|set|del ...` as `ip [-d] [-j] link ...` (`ubond link help`).
    Link {
        /// The words that follow `ip link`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Decode the LACPDUs and Marker PDUs of pcap captures (tcpdump -w, tshark -F pcap).
    Decode {
        /// Capture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The lab: a deterministic network simulator running the real bonding core.
    Lab {
        #[command(subcommand)]
        command: lab_cli::LabCommand,
    },
    /// Write the man pages and shell completions (for packaging).
    #[command(hide = true)]
    Assets {
        /// The directory: man/*.8 and completions/{ubond.bash,_ubond,ubond.fish} go below it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Bond configuration files: modprobe.d, Debian interfaces, RHEL/SUSE ifcfg,
    /// systemd-networkd, NetworkManager keyfiles, netplan, cloud-init, Open vSwitch, ubond TOML.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Report mistakes with file, line, column and a fix; exits 1 if any is an error.
    Lint {
        /// The files (their format is detected; give --format to force it).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The files' format (modprobe, interfaces, ifcfg, networkd, keyfile, netplan,
        /// cloud-init-v1, cloud-init-v2, ovs, toml).
        #[arg(long)]
        format: Option<Format>,
        /// Skip the checks against this system's interfaces (speed/duplex, bridge ports): for
        /// files meant for another machine.
        #[arg(long)]
        offline: bool,
    },
    /// Rewrite bonds in another format, printed to standard output; what the format cannot
    /// hold is said on standard error (and as comments), and the exit status is 1 unless
    /// --allow-loss.
    Convert {
        /// The format to write.
        #[arg(long)]
        to: Format,
        /// The files to read.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The files' format, if it cannot be detected.
        #[arg(long)]
        from: Option<Format>,
        /// Exit 0 even when the target format cannot hold everything (each such fact is
        /// still a comment in the output and a line on standard error).
        #[arg(long)]
        allow_loss: bool,
    },
}

fn main() -> ExitCode {
    // `ubond [-d] [-j] link ...`: ip's own option and word syntax, which clap does not parse.
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    if let Some((control, options, words)) = iplink::recognise(&args) {
        ubond_sys::process::default_sigpipe();
        return iplink::main(&control::socket_path(control), &options, &words);
    }
    let cli = Cli::parse();
    // The daemon, the demo and `up` clean up after themselves; every other command may just
    // end when its reader has gone (`ubond status | head`).
    match cli.command {
        Command::Daemon { .. } => {}
        // A reader gone: the failed print unwinds through their clean-up; say nothing.
        Command::Demo | Command::Up { .. } => quiet_broken_pipe(),
        _ => ubond_sys::process::default_sigpipe(),
    }
    let socket = control::socket_path(cli.control);
    let request = match cli.command {
        Command::Daemon {
            group,
            datapath,
            tc_hook,
            bpffs,
            metrics,
            metrics_textfile,
            data_threads,
        } => {
            let metrics = daemon::MetricsOptions { listen: metrics, textfile: metrics_textfile };
            let path = daemon::PathOptions {
                choice: datapath,
                hook: tc_hook,
                bpffs,
                data_threads: usize::from(data_threads),
            };
            let run = access::Access::new(group.as_deref())
                .and_then(|a| daemon::run(&socket, a, &path, &metrics));
            return match run {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ubond: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Add { bond, options } => {
            Request::Add { bond, options: options.join(" "), netlink: true }
        }
        Command::Enslave { bond, ifaces } => Request::Enslave { bond, ifaces },
        Command::Release { bond, ifaces } => Request::Release { bond, ifaces },
        Command::Set { bond, option, value } => Request::Set { bond, option, value },
        Command::SetSlave { iface, option, value } => Request::SetSlave { iface, option, value },
        Command::GetSlave { iface, option } => Request::GetSlave { iface, option },
        Command::Get { bond, option } => Request::Get { bond, option },
        Command::Del { bond } => Request::Del { bond },
        Command::Shutdown => Request::Shutdown,
        Command::Status { bond, json } => Request::Status { bond, json },
        Command::Demo => {
            return match demo::run() {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("ubond demo: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Up { bonds, from, format, root } => {
            return match up::run(&socket, up::UpArgs { bonds, from, format, root }) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("ubond: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Link { words } => return iplink::main(&socket, &[], &words),
        Command::Doctor { targets } => {
            return match doctor::run(&socket, &targets) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("ubond doctor: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        other => return tools(other),
    };
    match control::call(&socket, &request) {
        Ok(resp) => {
            print!("{}", resp.output);
            match resp.error {
                None => ExitCode::SUCCESS,
                Some(e) => {
                    eprintln!("ubond: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(e) => {
            eprintln!("ubond: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Silences the panic of a `print!` whose reader has gone (`ubond demo | head`).
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info.payload().downcast_ref::<String>().map_or("", String::as_str);
        if !(msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe")) {
            default(info);
        }
    }));
}

/// The commands that need no daemon.
fn tools(command: Command) -> ExitCode {
    let result = match command {
        Command::Decode { files } => files.iter().try_for_each(decode).map(|()| true),
        Command::Lab { command } => lab_cli::run(command),
        Command::Config { command } => config(command),
        Command::Assets { out } => assets::write(Cli::command(), &out).map(|files| {
            files.iter().for_each(|f| println!("{f}"));
            true
        }),
        _ => Ok(true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ubond: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn read_sources(files: &[PathBuf]) -> Result<Vec<SourceFile>> {
    let fs = ubond_config::files::RootDir::new("/");
    // Bounded, and a binary file said with the place of its first non-text byte.
    let read = |path: String| -> Result<SourceFile> {
        let text = fs.read(&path).with_context(|| format!("{path}: cannot read"))?;
        Ok(SourceFile { path, text })
    };
    let mut sources =
        files.iter().map(|f| read(f.display().to_string())).collect::<Result<Vec<_>>>()?;
    // A networkd unit's drop-ins next to it apply to it as networkd reads them: read them too.
    let mut dropins = Vec::new();
    for unit in &sources {
        let dir = format!("{}.d", unit.path);
        let Ok(names) = fs.list(&dir) else { continue };
        for name in names.iter().filter(|n| n.ends_with(".conf")) {
            let path = format!("{dir}/{name}");
            if ubond_config::networkd::dropin_target(&path).is_some()
                && !sources.iter().chain(&dropins).any(|s: &SourceFile| s.path == path)
            {
                eprintln!("ubond: also reading {path} (a drop-in of {})", unit.path);
                dropins.push(read(path)?);
            }
        }
    }
    sources.extend(dropins);
    Ok(sources)
}

/// Groups files by format (forced, or detected per file).
fn by_format(
    sources: Vec<SourceFile>,
    forced: Option<Format>,
) -> Result<Vec<(Format, Vec<SourceFile>)>> {
    let mut groups: Vec<(Format, Vec<SourceFile>)> = Vec::new();
    for file in sources {
        let Some(format) = forced.or_else(|| Format::detect(&file)) else {
            bail!(
                "{}: cannot tell the format; give --format ({})",
                file.path,
                Format::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
            );
        };
        match groups.iter_mut().find(|(f, _)| *f == format) {
            Some((_, files)) => files.push(file),
            None => groups.push((format, vec![file])),
        }
    }
    Ok(groups)
}

/// Runs a config command; `Ok(false)` when lint found errors.
fn config(command: ConfigCommand) -> Result<bool> {
    match command {
        ConfigCommand::Lint { files, format, offline } => {
            let sources = read_sources(&files)?;
            let mut findings = Vec::new();
            for file in &sources {
                if file.text.contains("/sys/class/net/") {
                    findings.extend(ubond_config::lint_sysfs_writes(file));
                }
            }
            let shell_only = |f: &SourceFile| {
                format.is_none()
                    && Format::detect(f).is_none()
                    && f.text.contains("/sys/class/net/")
            };
            // Shell scripts with sysfs writes were linted above; the rest are configurations.
            let configs: Vec<SourceFile> = sources.into_iter().filter(|f| !shell_only(f)).collect();
            // Files of several formats are one system's (an ifcfg-bond0 with its options in
            // modprobe.d): linted merged, as `up` and `convert` read them.
            let mut order: Vec<String> = configs.iter().map(|f| f.path.clone()).collect();
            let mut parsed = Vec::new();
            for (format, group) in by_format(configs, format)? {
                if format == Format::Interfaces {
                    // `source` lines are followed, as ifup does.
                    let paths: Vec<&str> = group.iter().map(|f| f.path.as_str()).collect();
                    let root = ubond_config::files::RootDir::new("/");
                    let (p, read) = ubond_config::interfaces::parse_following_files(&paths, &root);
                    order.extend(
                        read.into_iter().map(|f| f.path).filter(|p| !paths.contains(&p.as_str())),
                    );
                    parsed.push((format, p));
                } else {
                    parsed.push((format, ubond_config::parse(format, &group)));
                }
            }
            let (set, found) = ubond_config::system::lint(parsed, &order);
            findings.extend(found);
            if !offline {
                // What the slaves really are on this system.
                findings.extend(ubond_config::live::check(&set, &probe::SystemProbe));
            }
            for f in &findings {
                println!("{f}");
                if let Some(fix) = &f.fix {
                    println!("    fix: {fix}");
                }
            }
            let errors = ubond_config::has_errors(&findings);
            eprintln!(
                "{} finding(s), {}",
                findings.len(),
                if errors { "errors found" } else { "no errors" }
            );
            Ok(!errors)
        }
        ConfigCommand::Convert { to, files, from, allow_loss } => {
            let mut parsed = Vec::new();
            let mut errors = false;
            for (format, group) in by_format(read_sources(&files)?, from)? {
                let p = ubond_config::parse(format, &group);
                for f in p.findings.iter().filter(|f| f.severity == ubond_config::Severity::Error) {
                    eprintln!("{f}");
                    errors = true;
                }
                parsed.push((format, p));
            }
            if errors {
                bail!("not converted: fix the errors above first (`ubond config lint` lists them all)");
            }
            // A bond split over formats (ifcfg with modprobe.d options) is one bond.
            let (set, merged) = ubond_config::system::merge(parsed);
            for f in merged.iter().filter(|f| f.severity == ubond_config::Severity::Error) {
                eprintln!("{f}");
                errors = true;
            }
            if errors {
                bail!("not converted: the files define a bond twice");
            }
            let conversion = ubond_config::convert(&set, to);
            for file in &conversion.files {
                println!("# ==> {} <==\n{}", file.path, file.text);
            }
            for loss in &conversion.losses {
                eprintln!("{loss}");
            }
            if !conversion.losses.is_empty() && !allow_loss {
                eprintln!(
                    "ubond: {} fact(s) not written as they were ({to} cannot hold them); --allow-loss accepts that",
                    conversion.losses.len()
                );
                return Ok(false);
            }
            Ok(true)
        }
    }
}

fn decode(path: &PathBuf) -> Result<()> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut reader = PcapReader::new(file).with_context(|| {
        format!(
            "{}: not a pcap file (pcapng? convert it with `editcap -F pcap IN OUT`)",
            path.display()
        )
    })?;
    let mut first = None;
    let mut n = 0u64;
    let mut out = String::new();
    while let Some(packet) = reader.next_packet() {
        n += 1;
        let packet =
            packet.with_context(|| format!("{}: frame {n}: truncated record", path.display()))?;
        let t0 = *first.get_or_insert(packet.timestamp);
        let t = packet.timestamp.saturating_sub(t0).as_secs_f64();
        if let Some(line) = describe(&packet.data) {
            writeln!(out, "{n:6} {t:11.6} {line}")?;
        }
    }
    if n == 0 {
        bail!("{}: the capture holds no frames", path.display());
    }
    print!("{out}");
    Ok(())
}

fn info(label: &str, p: &PortInfo) -> String {
    let flags = p.state.flags();
    format!(
        "{label} {} prio {} key {} port {} port-prio {} state {} ({})",
        p.system,
        p.system_priority,
        p.key,
        p.port,
        p.port_priority,
        p.state,
        String::from_utf8_lossy(&flags)
    )
}

/// One line for a Slow Protocols frame, `None` for any other frame.
fn describe(frame: &[u8]) -> Option<String> {
    if frame.len() < 14 || frame[12..14] != slow::ETHERTYPE.to_be_bytes() {
        return None;
    }
    let src = MacAddr::from_slice(&frame[6..12])?;
    let Ok(packet) = slow::Packet::new_checked(&frame[14..]) else {
        return Some(format!("{src} slow protocols: short PDU ({} octets)", frame.len() - 14));
    };
    Some(match packet.subtype() {
        Subtype::Lacp => match LacpduRepr::parse(&packet) {
            Ok(pdu) => format!(
                "{src} LACPv{} {} | {}",
                pdu.version,
                info("ACTOR", &pdu.actor),
                info("PARTNER", &pdu.partner)
            ),
            Err(e) => format!("{src} LACPDU: {e}"),
        },
        Subtype::Marker => match MarkerRepr::parse(&packet) {
            Ok(m) => format!(
                "{src} Marker {:?} requester {} port {} transaction {:#010x}",
                m.kind, m.requester_system, m.requester_port, m.requester_transaction_id
            ),
            Err(e) => format!("{src} Marker: {e}"),
        },
        Subtype::Other(s) => format!("{src} slow protocols subtype {s}"),
    })
}
