//! The values a scenario file writes as text: times (`"10s"`), line rates (`"100Mbit"`), ports
//! (`"hostA:eth0"`) and bond option values.

use std::fmt;
use std::time::Duration;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use ubond_core::time::Instant;

use super::MAX_RUN;

/// A span of virtual time, written `10s`, `1.5s`, `250ms`, `100us` or `10ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Time(pub Duration);

impl Time {
    /// `s` seconds.
    pub fn secs(s: u64) -> Time {
        Time(Duration::from_secs(s))
    }

    /// `ms` milliseconds.
    pub fn millis(ms: u64) -> Time {
        Time(Duration::from_millis(ms))
    }

    /// The instant this long after time zero.
    pub fn instant(self) -> Instant {
        Instant::ZERO + self.0
    }

    fn parse(w: &str) -> Option<Time> {
        let w = w.trim();
        let (num, scale) = if let Some(n) = w.strip_suffix("ns") {
            (n, 1e-9)
        } else if let Some(n) = w.strip_suffix("us") {
            (n, 1e-6)
        } else if let Some(n) = w.strip_suffix("ms") {
            (n, 1e-3)
        } else if let Some(n) = w.strip_suffix('s') {
            (n, 1.0)
        } else {
            return None;
        };
        let v: f64 = num.trim().parse().ok()?;
        let secs = v * scale;
        (secs.is_finite() && secs >= 0.0 && secs <= MAX_RUN.as_secs_f64())
            .then(|| Time(Duration::from_nanos((secs * 1e9).round() as u64)))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        if ns % 1_000_000_000 == 0 {
            write!(f, "{}s", ns / 1_000_000_000)
        } else if ns % 1_000_000 == 0 {
            write!(f, "{}ms", ns / 1_000_000)
        } else if ns % 1000 == 0 {
            write!(f, "{}us", ns / 1000)
        } else {
            write!(f, "{ns}ns")
        }
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let s = String::deserialize(d)?;
        Time::parse(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "expected a time such as \"10s\", \"1.5s\" or \"250ms\" (at most a week), found \"{s}\""
            ))
        })
    }
}

/// A line rate in bits per second, written `"100Mbit"`, `"1Gbit"`, `"64kbit"` or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub u64);

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let text = if r % 1_000_000_000 == 0 {
            format!("{}Gbit", r / 1_000_000_000)
        } else if r % 1_000_000 == 0 {
            format!("{}Mbit", r / 1_000_000)
        } else if r % 1000 == 0 {
            format!("{}kbit", r / 1000)
        } else {
            format!("{r}bit")
        };
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        let bad = |s: &str| {
            de::Error::custom(format!(
                "expected a rate such as \"100Mbit\", \"1Gbit\" or \"64kbit\", found \"{s}\""
            ))
        };
        match Raw::deserialize(d)? {
            Raw::N(0) => Err(bad("0")),
            Raw::N(n) => Ok(Rate(n)),
            Raw::S(s) => {
                let t = s.trim();
                let lower = t.to_ascii_lowercase();
                let (num, scale) = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)]
                    .iter()
                    .find_map(|(suf, k)| lower.strip_suffix(suf).map(|n| (n.to_string(), *k)))
                    .ok_or_else(|| bad(&s))?;
                let v: f64 = num.trim().parse().map_err(|_| bad(&s))?;
                let r = v * scale;
                if !(1.0..=1e13).contains(&r) {
                    return Err(bad(&s));
                }
                Ok(Rate(r.round() as u64))
            }
        }
    }
}

/// `NODE:PORT`: a host's NIC (`hostA:eth0`) or a bridge or switch port (`sw1:p1`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortName {
    /// The node.
    pub node: String,
    /// The NIC or port.
    pub port: String,
}

impl PortName {
    /// `node:port`.
    pub fn new(node: &str, port: &str) -> PortName {
        PortName { node: node.to_string(), port: port.to_string() }
    }
}

impl fmt::Display for PortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node, self.port)
    }
}

impl Serialize for PortName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PortName, D::Error> {
        struct Port;
        impl de::Visitor<'_> for Port {
            type Value = PortName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("NODE:PORT such as \"hostA:eth0\" or \"sw1:p1\"")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<PortName, E> {
                match s.split_once(':') {
                    Some((n, p)) if !n.is_empty() && !p.is_empty() => Ok(PortName::new(n, p)),
                    _ => Err(E::custom(format!(
                        "expected NODE:PORT such as \"hostA:eth0\" or \"sw1:p1\", found \"{s}\""
                    ))),
                }
            }
        }
        d.deserialize_str(Port)
    }
}

/// A bond option's value as written (`"fast"`, `100`, `true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptValue {
    /// A number.
    Int(i64),
    /// A boolean (written as 1 or 0 to the option).
    Bool(bool),
    /// A word.
    Text(String),
}

impl fmt::Display for OptValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptValue::Int(n) => write!(f, "{n}"),
            OptValue::Bool(b) => write!(f, "{}", u8::from(*b)),
            OptValue::Text(s) => f.write_str(s),
        }
    }
}
