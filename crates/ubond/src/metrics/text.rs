//! The Prometheus text exposition format, version 0.0.4: what Prometheus scrapes and what
//! node_exporter's textfile collector reads.
//!
//! A family is a `# HELP` line, a `# TYPE` line, then its samples, all together:
//!
//! ```text
//! # HELP node_bonding_active Number of active slaves per bonding interface.
//! # TYPE node_bonding_active gauge
//! node_bonding_active{master="bond0"} 2
//! ```
//!
//! Label values escape `\`, `"` and line feeds; help text escapes `\` and line feeds. Every
//! value here is a whole number, written exactly (no float rounding of large counters). A
//! family without samples writes nothing.
//!
//! Why not a client library: `prometheus-client` writes OpenMetrics (its `# EOF`, `_total`
//! rules and `info`/`stateset` types are not the 0.0.4 text the textfile collector parses),
//! and `prometheus` keeps live metric objects in a registry, while the daemon renders a
//! snapshot of its bonds on each scrape. The format needs the four rules above.

use std::fmt::Write as _;

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down (and info and state-set families: 1 or 0).
    Gauge,
    /// A count that only goes up (until the process or the counted object starts again).
    Counter,
}

/// The text of a scrape, written family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
    /// Names of the families written, to refuse a second family of the same name.
    names: Vec<&'static str>,
    /// FNV-1a of every gauge sample line: changes when a state changes, not when a counter
    /// moves.
    state: u64,
}

/// A rendered scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The exposition text.
    pub text: String,
    /// A fingerprint of the gauges (the states): equal fingerprints, same states.
    pub state: u64,
}

impl Exposition {
    /// An empty exposition.
    pub fn new() -> Exposition {
        Exposition { out: String::new(), names: Vec::new(), state: FNV_OFFSET }
    }

    /// Starts family `name` of type `kind` described by `help`; its header is written with
    /// its first sample.
    ///
    /// # Panics
    ///
    /// (Debug builds) on a name that is not a metric name, or a family written twice: both
    /// are mistakes in this program, which the unit tests render every family to catch.
    pub fn family(&mut self, name: &'static str, kind: Kind, help: &'static str) -> Family<'_> {
        debug_assert!(is_metric_name(name), "{name:?} is not a metric name");
        debug_assert!(!self.names.contains(&name), "family {name} written twice");
        debug_assert!(
            (kind == Kind::Counter) == name.ends_with("_total"),
            "{name}: counters, and counters only, end in _total"
        );
        self.names.push(name);
        Family { exp: self, name, kind, help, started: false }
    }

    /// The text and its state fingerprint.
    pub fn finish(self) -> Rendered {
        Rendered { text: self.out, state: self.state }
    }
}

/// A family being written.
pub struct Family<'a> {
    exp: &'a mut Exposition,
    name: &'static str,
    kind: Kind,
    help: &'static str,
    started: bool,
}

impl Family<'_> {
    /// Writes a sample with `labels` (name, value) and `value`.
    pub fn sample(&mut self, labels: &[(&'static str, &str)], value: u64) {
        let out = &mut self.exp.out;
        if !self.started {
            self.started = true;
            out.push_str("# HELP ");
            out.push_str(self.name);
            out.push(' ');
            escape_help(out, self.help);
            out.push_str("\n# TYPE ");
            out.push_str(self.name);
            out.push_str(match self.kind {
                Kind::Gauge => " gauge\n",
                Kind::Counter => " counter\n",
            });
        }
        let start = out.len();
        out.push_str(self.name);
        if !labels.is_empty() {
            out.push('{');
            for (i, (name, v)) in labels.iter().enumerate() {
                debug_assert!(is_label_name(name), "{name:?} is not a label name");
                if i > 0 {
                    out.push(',');
                }
                out.push_str(name);
                out.push_str("=\"");
                escape_label(out, v);
                out.push('"');
            }
            out.push('}');
        }
        // Writing into a String cannot fail.
        let _ = writeln!(out, " {value}");
        if self.kind == Kind::Gauge {
            self.exp.state = fnv1a(self.exp.state, &out.as_bytes()[start..]);
        }
    }

    /// Writes a sample of 1 or 0.
    pub fn flag(&mut self, labels: &[(&'static str, &str)], on: bool) {
        self.sample(labels, u64::from(on));
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn escape_help(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_label(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    !s.starts_with("__")
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_is_help_type_then_its_samples() {
        let mut e = Exposition::new();
        let mut f = e.family("node_bonding_active", Kind::Gauge, "Number of active slaves.");
        f.sample(&[("master", "bond0")], 2);
        f.sample(&[("master", "bond1")], 0);
        let mut f = e.family("ubond_x_total", Kind::Counter, "A count.");
        f.sample(&[], u64::MAX);
        assert_eq!(
            e.finish().text,
            "# HELP node_bonding_active Number of active slaves.\n\
             # TYPE node_bonding_active gauge\n\
             node_bonding_active{master=\"bond0\"} 2\n\
             node_bonding_active{master=\"bond1\"} 0\n\
             # HELP ubond_x_total A count.\n\
             # TYPE ubond_x_total counter\n\
             ubond_x_total 18446744073709551615\n"
        );
    }

    #[test]
    fn a_family_without_samples_writes_nothing() {
        let mut e = Exposition::new();
        e.family("ubond_empty", Kind::Gauge, "Nothing.");
        assert_eq!(e.finish().text, "");
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut e = Exposition::new();
        let mut f = e.family("ubond_x", Kind::Gauge, "back\\slash and\nnewline \"quoted\"");
        f.sample(&[("a", "q\"b\\n\nx"), ("b", "going down")], 1);
        assert_eq!(
            e.finish().text,
            "# HELP ubond_x back\\\\slash and\\nnewline \"quoted\"\n\
             # TYPE ubond_x gauge\n\
             ubond_x{a=\"q\\\"b\\\\n\\nx\",b=\"going down\"} 1\n"
        );
    }

    #[test]
    fn the_state_fingerprint_follows_gauges_not_counters() {
        let render = |gauge: u64, counter: u64| {
            let mut e = Exposition::new();
            e.family("ubond_g", Kind::Gauge, "G.").sample(&[("l", "v")], gauge);
            e.family("ubond_c_total", Kind::Counter, "C.").sample(&[("l", "v")], counter);
            e.finish()
        };
        let base = render(1, 5);
        assert_eq!(base.state, render(1, 6).state, "a counter moved: same state");
        assert_ne!(base.text, render(1, 6).text);
        assert_ne!(base.state, render(0, 5).state, "a gauge changed: new state");
    }

    #[test]
    fn names_follow_the_grammar() {
        for ok in ["node_bonding_active", "a:b", "_x", "ubond_lacp_port_state"] {
            assert!(is_metric_name(ok), "{ok}");
        }
        for bad in ["", "1x", "a-b", "a b", "é"] {
            assert!(!is_metric_name(bad), "{bad}");
        }
        for ok in ["master", "_x", "side2"] {
            assert!(is_label_name(ok), "{ok}");
        }
        for bad in ["", "__name__", "a:b", "2x", "a-b"] {
            assert!(!is_label_name(bad), "{bad}");
        }
    }
}
