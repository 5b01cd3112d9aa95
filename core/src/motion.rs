//! The cheap pre-filter in front of the face detector: did the scene change since
//! the last look? Frame differencing on a small grey view (the detector's view
//! shrunk 8 times: 40x30 for 320x240), so that an empty, still scene costs a few
//! thousand byte comparisons per look instead of a detection.
//!
//! A change of the whole picture's brightness (the camera's auto-exposure, a light
//! switched on) is taken out first: only pixels that differ from the previous view
//! by more than [`MotionParams::pixel_delta`] *beyond the mean difference* count,
//! and the scene changed when more than [`MotionParams::changed_share`] of them do.

use crate::presence::GreyView;

/// How much the small view must differ to count as a change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotionParams {
    /// A pixel changed when it differs by more than this, after the mean
    /// difference of the whole view is taken out.
    pub pixel_delta: u8,
    /// The scene changed when more than this share of the pixels changed (0..=1).
    pub changed_share: f32,
}

impl Default for MotionParams {
    fn default() -> Self {
        // 40x30 = 1200 pixels: 2 % is 24 of them, a face of 5x5 blocks at 1/8 scale.
        MotionParams {
            pixel_delta: 12,
            changed_share: 0.02,
        }
    }
}

/// The shrink factor between the detector's view and the pre-filter's.
pub const SHRINK: u32 = 8;

/// Frame differencing against the previous small view.
#[derive(Clone, Debug, Default)]
pub struct MotionFilter {
    params: MotionParams,
    previous: Option<GreyView>,
}

impl MotionFilter {
    pub fn new(params: MotionParams) -> MotionFilter {
        MotionFilter {
            params,
            previous: None,
        }
    }

    /// Whether `small` differs from the view given last time (which it replaces).
    /// The first view, and one of another size than the last, count as a change.
    pub fn changed(&mut self, small: GreyView) -> bool {
        let changed = match &self.previous {
            Some(prev) if prev.width == small.width && prev.height == small.height => {
                differs(&self.params, prev, &small)
            }
            _ => true,
        };
        self.previous = Some(small);
        changed
    }

    /// Forget the previous view: the next one counts as a change.
    pub fn reset(&mut self) {
        self.previous = None;
    }
}

/// Whether `b` differs from `a` (of the same size) by `params`.
pub fn differs(params: &MotionParams, a: &GreyView, b: &GreyView) -> bool {
    let n = a.pixels.len().min(b.pixels.len());
    if n == 0 {
        return false;
    }
    let diff = |(x, y): (&u8, &u8)| i32::from(*y) - i32::from(*x);
    let total: i64 = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .map(|p| i64::from(diff(p)))
        .sum();
    let mean = (total / n as i64) as i32;
    let delta = i32::from(params.pixel_delta);
    let changed = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .filter(|p| (diff(*p) - mean).abs() > delta)
        .count();
    changed as f32 > params.changed_share * n as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 40;
    const H: u32 = 30;

    /// A room: a left-to-right gradient with a dark door frame.
    fn room() -> GreyView {
        let pixels = (0..H)
            .flat_map(|y| {
                (0..W).map(move |x| {
                    if (30..34).contains(&x) && y > 5 {
                        30
                    } else {
                        (60 + x * 3) as u8
                    }
                })
            })
            .collect();
        GreyView::new(W, H, pixels).expect("40x30")
    }

    fn map(v: &GreyView, mut f: impl FnMut(u32, u32, u8) -> u8) -> GreyView {
        let pixels = v
            .pixels
            .iter()
            .enumerate()
            .map(|(i, &p)| f(i as u32 % v.width, i as u32 / v.width, p))
            .collect();
        GreyView::new(v.width, v.height, pixels).expect("same size")
    }

    /// A deterministic noise of ±`amp` (a small linear congruential generator).
    fn noisy(v: &GreyView, amp: i32, seed: u32) -> GreyView {
        let mut s = seed;
        map(v, |_, _, p| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let n = ((s >> 16) % (2 * amp as u32 + 1)) as i32 - amp;
            (i32::from(p) + n).clamp(0, 255) as u8
        })
    }

    #[test]
    fn the_first_view_counts_as_a_change_then_a_still_scene_does_not() {
        let mut f = MotionFilter::new(MotionParams::default());
        assert!(f.changed(room()));
        for _ in 0..10 {
            assert!(!f.changed(room()));
        }
    }

    #[test]
    fn sensor_noise_is_not_a_change() {
        let mut f = MotionFilter::new(MotionParams::default());
        f.changed(room());
        for seed in 1..20 {
            assert!(!f.changed(noisy(&room(), 6, seed)), "seed {seed}");
        }
    }

    #[test]
    fn a_change_of_the_whole_brightness_is_not_a_change() {
        let mut f = MotionFilter::new(MotionParams::default());
        f.changed(room());
        assert!(!f.changed(map(&room(), |_, _, p| p.saturating_add(40))));
        assert!(!f.changed(map(&room(), |_, _, p| p.saturating_sub(25))));
    }

    #[test]
    fn a_person_stepping_in_is_a_change() {
        let mut f = MotionFilter::new(MotionParams::default());
        f.changed(room());
        // A head and shoulders of 8x12 blocks (a face of ~64 pixels at 320x240).
        let person = map(&room(), |x, y, p| {
            if (16..24).contains(&x) && (8..20).contains(&y) {
                200
            } else {
                p
            }
        });
        assert!(f.changed(person.clone()));
        assert!(!f.changed(person), "standing still");
    }

    #[test]
    fn a_change_below_the_share_is_not_one() {
        let p = MotionParams::default();
        let base = room();
        // 2 % of 1200 pixels is 24: 24 changed pixels are not more than that…
        let small = map(&base, |x, y, v| if x < 24 && y == 0 { v ^ 0x80 } else { v });
        assert!(!differs(&p, &base, &small));
        // …25 are.
        let more = map(&base, |x, y, v| {
            if (x < 24 && y == 0) || (x == 0 && y == 1) {
                v ^ 0x80
            } else {
                v
            }
        });
        assert!(differs(&p, &base, &more));
    }

    #[test]
    fn another_size_counts_as_a_change_and_reset_forgets() {
        let mut f = MotionFilter::new(MotionParams::default());
        f.changed(room());
        assert!(f.changed(room().shrink(2)));
        assert!(!f.changed(room().shrink(2)));
        f.reset();
        assert!(f.changed(room().shrink(2)));
    }

    #[test]
    fn shrinking_a_320x240_view_gives_the_40x30_filter_view() {
        let big = GreyView::new(320, 240, vec![90; 320 * 240]).expect("320x240");
        let small = big.shrink(SHRINK);
        assert_eq!((small.width, small.height), (W, H));
        assert!(small.pixels.iter().all(|&p| p == 90));
    }
}
