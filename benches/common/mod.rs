//! What the benchmarks share.

/// BT.601 studio-range YUYV of a packed RGB picture (chroma averaged per pair).
pub fn rgb_to_yuyv(rgb: &[u8], width: u32) -> Vec<u8> {
    let luma = |p: &[u8]| {
        let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
        (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8
    };
    let chroma = |p: &[u8], q: &[u8]| {
        let r = (i32::from(p[0]) + i32::from(q[0])) / 2;
        let g = (i32::from(p[1]) + i32::from(q[1])) / 2;
        let b = (i32::from(p[2]) + i32::from(q[2])) / 2;
        (
            (((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128) as u8,
            (((112 * r - 94 * g - 18 * b + 128) >> 8) + 128) as u8,
        )
    };
    let mut out = Vec::with_capacity(rgb.len() / 3 * 2);
    for line in rgb.chunks_exact(width as usize * 3) {
        for pair in line.chunks_exact(6) {
            let (p, q) = (&pair[..3], &pair[3..]);
            let (u, v) = chroma(p, q);
            out.extend_from_slice(&[luma(p), u, luma(q), v]);
        }
    }
    out
}
