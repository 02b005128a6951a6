//! Link speed codes and the operational key (Linux `ad_update_actor_keys`).
//!
//! ```text
//!           --------------------------------------------------------------
//!  Port key | User key (10 bits)           | Speed (5 bits)      | Duplex|
//!           --------------------------------------------------------------
//!           |15                           6|5                   1|0
//! ```
//!
//! The speed codes follow the current kernel's `enum ad_link_speed_type`, which gained
//! `AD_LINK_SPEED_80000MBPS` between 100G and 56G in 2025. Older kernels (including Debian 12's
//! 6.1) give 100G and faster links a code one lower: a 100G port has key 29 there and 31 here.
//! Keys only have to agree among a system's own ports, so this never affects aggregation with a
//! peer; it shows only in reports.

/// Speed part of the key for a link speed in Mbit/s, or 0 for a speed the kernel has no code
/// for (such a port gets key speed 0, as in Linux).
pub fn speed_code(mbps: u32) -> u16 {
    match mbps {
        10 => 2,
        100 => 3,
        1_000 => 4,
        2_500 => 5,
        5_000 => 6,
        10_000 => 7,
        14_000 => 8,
        20_000 => 9,
        25_000 => 10,
        40_000 => 11,
        50_000 => 12,
        56_000 => 13,
        80_000 => 14,
        100_000 => 15,
        200_000 => 16,
        400_000 => 17,
        800_000 => 18,
        1_600_000 => 19,
        _ => 0,
    }
}

/// Bandwidth in Mbit/s that a speed code stands for (Linux `__get_agg_bandwidth`).
pub fn code_bandwidth(code: u16) -> u32 {
    match code {
        1 => 1,
        2 => 10,
        3 => 100,
        4 => 1_000,
        5 => 2_500,
        6 => 5_000,
        7 => 10_000,
        8 => 14_000,
        9 => 20_000,
        10 => 25_000,
        11 => 40_000,
        12 => 50_000,
        13 => 56_000,
        14 => 80_000,
        15 => 100_000,
        16 => 200_000,
        17 => 400_000,
        18 => 800_000,
        19 => 1_600_000,
        _ => 0,
    }
}

/// Mask of the duplex bit of a key.
pub const DUPLEX_MASK: u16 = 0x1;
/// Mask of the speed bits of a key.
pub const SPEED_MASK: u16 = 0x3e;

/// The operational key: `user_key << 6 | speed_code << 1 | full_duplex`.
pub fn oper_key(user_key: u16, speed_code: u16, full_duplex: bool) -> u16 {
    ((user_key & 0x3ff) << 6) | ((speed_code & 0x1f) << 1) | u16::from(full_duplex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_the_reference_table() {
        assert_eq!(oper_key(0, speed_code(1_000), true), 9);
        assert_eq!(oper_key(0, speed_code(10_000), true), 15);
        assert_eq!(oper_key(0, speed_code(25_000), true), 21);
        assert_eq!(oper_key(0, speed_code(100_000), true), 31);
        assert_eq!(oper_key(1, speed_code(1_000), true), 73);
        assert_eq!(oper_key(0, speed_code(1_000), false), 8);
        assert_eq!(oper_key(0, speed_code(123), true), 1);
        for code in 1..=19 {
            assert_eq!(speed_code(code_bandwidth(code)), if code == 1 { 0 } else { code });
        }
    }
}
