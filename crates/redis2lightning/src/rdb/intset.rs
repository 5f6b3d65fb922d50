//! Intsets (sorted arrays of 16, 32 or 64-bit integers holding small all-integer sets).

/// The members of an intset as decimal text.
pub(crate) fn members(buf: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if buf.len() < 8 {
        return Err(format!("an intset of {} bytes is too short", buf.len()));
    }
    let width = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("an intset has the unknown integer width {width}"));
    }
    let count = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
    let body = &buf[8..];
    if count.checked_mul(width) != Some(body.len()) {
        return Err(format!(
            "an intset says it has {count} members of {width} bytes but holds {} bytes",
            body.len()
        ));
    }
    Ok(body
        .chunks_exact(width)
        .map(|c| {
            let v = match *c {
                [a, b] => i64::from(i16::from_le_bytes([a, b])),
                [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
                _ => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    i64::from_le_bytes(a)
                }
            };
            v.to_string().into_bytes()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intset(width: u32, values: &[i64]) -> Vec<u8> {
        let mut out = width.to_le_bytes().to_vec();
        out.extend_from_slice(&(values.len() as u32).to_le_bytes());
        for &v in values {
            out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
        }
        out
    }

    #[test]
    fn every_width_and_sign() {
        let s = |v: &[&str]| v.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            members(&intset(2, &[-32768, -1, 0, 32767])).unwrap(),
            s(&["-32768", "-1", "0", "32767"])
        );
        assert_eq!(
            members(&intset(4, &[-2147483648, 2147483647])).unwrap(),
            s(&["-2147483648", "2147483647"])
        );
        assert_eq!(
            members(&intset(8, &[i64::MIN, i64::MAX])).unwrap(),
            s(&["-9223372036854775808", "9223372036854775807"])
        );
    }

    #[test]
    fn damage_is_reported() {
        let good = intset(4, &[1, 2, 3]);
        for cut in 0..good.len() {
            assert!(members(&good[..cut]).is_err());
        }
        let mut bad = good.clone();
        bad[0] = 3;
        assert!(members(&bad).is_err());
        let mut bad = good;
        bad[7] = 0xFF;
        assert!(members(&bad).is_err());
    }
}
