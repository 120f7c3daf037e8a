//! The made-up key space: `total()` keys in the ChronoTrace client's layout,
//! computed from their index, never stored. Index order is key order
//! (lexicographic by bytes), so "the first key after X" is a binary search
//! over indexes that renders ~30 keys.
//!
//! Layout, for a prefix `P` (e.g. `bench/traces/`) and `days` partitions
//! ending `today`: `P traces/{YYYY-MM-DD}/ct_{16 hex}_{unix}.zip`, the
//! `n` traces spread evenly over the days (oldest first), then one loose
//! file `P traces/diagnostic-test-6750a1b2c3d4e.txt` (it sorts after the
//! dates), as the app's `chronotrace:diagnose` leaves behind.

/// The key space of one bucket.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
    n: u64,
    /// Days since 1970-01-01 of each partition, oldest first.
    days: Vec<i64>,
    /// `YYYY-MM-DD` of each partition.
    names: Vec<String>,
}

const LOOSE: &str = "traces/diagnostic-test-6750a1b2c3d4e.txt";

impl Keys {
    pub fn new(prefix: &str, n: u64, days: u32, today: i64) -> Keys {
        let days: Vec<i64> = (0..i64::from(days.max(1)))
            .rev()
            .map(|back| today - back)
            .collect();
        let names = days.iter().map(|d| date_name(*d)).collect();
        Keys {
            prefix: prefix.to_string(),
            n,
            days,
            names,
        }
    }

    /// Every key: the traces and the loose file.
    pub fn total(&self) -> u64 {
        self.n + 1
    }

    /// The first trace index of partition `j` (`j` may be `days.len()`).
    fn start(&self, j: usize) -> u64 {
        let d = self.days.len() as u128;
        (u128::from(self.n) * j as u128 / d) as u64
    }

    /// The partition of trace `i`.
    fn partition(&self, i: u64) -> usize {
        let d = self.days.len();
        let mut j = ((u128::from(i) * d as u128) / u128::from(self.n.max(1))) as usize;
        j = j.min(d - 1);
        while j + 1 < d && self.start(j + 1) <= i {
            j += 1;
        }
        while j > 0 && self.start(j) > i {
            j -= 1;
        }
        j
    }

    /// Writes key `i` into `out` (cleared first).
    pub fn key(&self, i: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(self.prefix.as_bytes());
        if i >= self.n {
            out.extend_from_slice(LOOSE.as_bytes());
            return;
        }
        let j = self.partition(i);
        out.extend_from_slice(b"traces/");
        out.extend_from_slice(self.names[j].as_bytes());
        out.extend_from_slice(b"/ct_");
        push_hex16(out, i);
        out.push(b'_');
        push_dec(out, (self.days[j] * 86_400 + 43_200) as u64);
        out.extend_from_slice(b".zip");
    }

    /// `LastModified` of key `i`: the start of its day (never in the future) (the loose file: today).
    pub fn modified(&self, i: u64) -> String {
        let j = if i >= self.n {
            self.days.len() - 1
        } else {
            self.partition(i)
        };
        format!("{}T00:00:00.000Z", self.names[j])
    }

    /// The first index whose key satisfies `!before(key)`, for a predicate
    /// true on a prefix of the (sorted) key space.
    pub fn partition_point(&self, mut before: impl FnMut(&[u8]) -> bool) -> u64 {
        let (mut lo, mut hi) = (0, self.total());
        let mut buf = Vec::with_capacity(96);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            self.key(mid, &mut buf);
            if before(&buf) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The first index whose key is `>= target`.
    pub fn lower_bound(&self, target: &[u8]) -> u64 {
        self.partition_point(|k| k < target)
    }

    /// The first index whose key is `> target`.
    pub fn first_after(&self, target: &[u8]) -> u64 {
        self.partition_point(|k| k <= target)
    }

    /// The first index past every key that starts with `folder`.
    pub fn past_folder(&self, folder: &[u8]) -> u64 {
        self.partition_point(|k| k < folder || k.starts_with(folder))
    }
}

/// Sixteen lowercase hex digits: fixed width, so index order is key order.
fn push_hex16(out: &mut Vec<u8>, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..16).rev() {
        out.push(HEX[((v >> (shift * 4)) & 0xf) as usize]);
    }
}

pub fn push_dec(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `YYYY-MM-DD` of a day count since 1970-01-01 (Howard Hinnant's
/// civil-from-days).
pub fn date_name(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_searchable() {
        let keys = Keys::new("bench/traces/", 1000, 30, 20_000);
        let mut prev = Vec::new();
        let mut buf = Vec::new();
        for i in 0..keys.total() {
            keys.key(i, &mut buf);
            assert!(buf > prev, "{i}");
            assert_eq!(keys.lower_bound(&buf), i);
            assert_eq!(keys.first_after(&buf), i + 1);
            prev = buf.clone();
        }
        assert_eq!(date_name(0), "1970-01-01");
        assert_eq!(date_name(20_424), "2025-12-02");
    }
}
