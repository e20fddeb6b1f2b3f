//! Medians over runs, and the log-bucket latency histogram the network workloads fill.

/// The median, minimum and maximum of one runtime's runs of one figure.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Summary {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

/// Summarises `runs`; `None` when the runtime did not run this workload.
pub(crate) fn summarize(runs: &[f64]) -> Option<Summary> {
    if runs.is_empty() {
        return None;
    }
    let mut sorted = runs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: sorted[0],
        max: sorted[n - 1],
    })
}

/// Sub-buckets per power of two: 8 gives every recorded value within 12.5% of its bucket.
const SUB_BITS: u32 = 3;
const SUB: usize = 1 << SUB_BITS;

/// A latency histogram in nanoseconds with logarithmic buckets: a power of two split into
/// eight, so a percentile read from it is at most 12.5% above the true value, never below.
#[derive(Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    pub(crate) fn new() -> Histogram {
        Histogram {
            counts: vec![0; 64 * SUB],
            total: 0,
        }
    }

    fn bucket(ns: u64) -> usize {
        let v = ns.max(1);
        let exp = 63 - v.leading_zeros();
        if exp < SUB_BITS {
            return v as usize;
        }
        let sub = ((v >> (exp - SUB_BITS)) as usize) & (SUB - 1);
        (exp as usize - SUB_BITS as usize + 1) * SUB + sub
    }

    /// The largest value that falls in bucket `b`: percentiles report the upper edge.
    fn upper(b: usize) -> u64 {
        if b < SUB {
            return b as u64;
        }
        let exp = (b / SUB - 1) as u32 + SUB_BITS;
        let sub = (b % SUB) as u64;
        ((SUB as u64 + sub + 1) << (exp - SUB_BITS)) - 1
    }

    pub(crate) fn record(&mut self, ns: u64) {
        self.counts[Self::bucket(ns)] += 1;
        self.total += 1;
    }

    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    pub(crate) fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0.5 for p50) in nanoseconds; 0 for an empty histogram.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::upper(b);
            }
        }
        Self::upper(self.counts.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_bound_their_values() {
        for v in [1u64, 7, 8, 9, 15, 16, 100, 1000, 12_345, 1 << 40] {
            let b = Histogram::bucket(v);
            assert!(Histogram::upper(b) >= v, "{v}");
            assert!(Histogram::upper(b) as f64 <= v as f64 * 1.125 + 1.0, "{v}");
        }
    }

    #[test]
    fn quantiles_of_a_uniform_spread() {
        let mut h = Histogram::new();
        for v in 1..=1000 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5);
        assert!((500_000..=563_000).contains(&p50), "{p50}");
        assert_eq!(summarize(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
    }
}
