//! String and number helpers admins need that rhai's standard packages lack or shape
//! differently: `lower`, `upper`, `trim` (rhai's `trim` trims in place and returns `()`, which
//! makes `trim(record.name)` useless in an expression; this one returns the trimmed string),
//! `round(x, digits)` and `clamp(x, lo, hi)`. Mixed INT/FLOAT `min`/`max` come from rhai's
//! `LogicPackage`.
//!
//! The string helpers take `()` and give `()`, so an empty record field stays empty.

use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, FLOAT, INT};

type Fallible<T> = Result<T, Box<EvalAltResult>>;

pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("lower", |s: ImmutableString| s.to_lowercase());
    engine.register_fn("upper", |s: ImmutableString| s.to_uppercase());
    engine.register_fn("trim", |s: ImmutableString| -> ImmutableString {
        let trimmed = s.trim();
        if trimmed.len() == s.len() {
            s
        } else {
            trimmed.into()
        }
    });
    for name in ["lower", "upper", "trim"] {
        engine.register_fn(name, |_: ()| ());
    }

    engine.register_fn("round", round_float);
    engine.register_fn("round", round_int);

    engine.register_fn("clamp", |x: INT, lo: INT, hi: INT| -> Fallible<Dynamic> {
        check_bounds(lo as FLOAT, hi as FLOAT)?;
        Ok(Dynamic::from_int(x.clamp(lo, hi)))
    });
    // Any float among the three makes the result a float.
    engine.register_fn("clamp", |x: FLOAT, lo: FLOAT, hi: FLOAT| clamp_float(x, lo, hi));
    engine.register_fn("clamp", |x: FLOAT, lo: INT, hi: INT| clamp_float(x, lo as FLOAT, hi as FLOAT));
    engine.register_fn("clamp", |x: INT, lo: FLOAT, hi: FLOAT| clamp_float(x as FLOAT, lo, hi));
    engine.register_fn("clamp", |x: INT, lo: INT, hi: FLOAT| clamp_float(x as FLOAT, lo as FLOAT, hi));
    engine.register_fn("clamp", |x: INT, lo: FLOAT, hi: INT| clamp_float(x as FLOAT, lo, hi as FLOAT));
    engine.register_fn("clamp", |x: FLOAT, lo: INT, hi: FLOAT| clamp_float(x, lo as FLOAT, hi));
    engine.register_fn("clamp", |x: FLOAT, lo: FLOAT, hi: INT| clamp_float(x, lo, hi as FLOAT));
}

fn check_bounds(lo: FLOAT, hi: FLOAT) -> Fallible<()> {
    if lo.is_nan() || hi.is_nan() || lo > hi {
        return Err(format!("clamp: the lower bound {lo} is above the upper bound {hi}").into());
    }
    Ok(())
}

fn clamp_float(x: FLOAT, lo: FLOAT, hi: FLOAT) -> Fallible<FLOAT> {
    check_bounds(lo, hi)?;
    Ok(x.clamp(lo, hi))
}

/// Rounds half away from zero to `digits` decimals; negative `digits` round to tens,
/// hundreds...
fn round_float(x: FLOAT, digits: INT) -> FLOAT {
    // Past 15 decimals an f64 has no digits left to round; past -308, 10^-digits overflows.
    let digits = digits.clamp(-308, 15);
    if digits >= 0 {
        let factor = (10.0 as FLOAT).powi(digits as i32);
        let scaled = x * factor;
        if scaled.is_finite() {
            scaled.round() / factor
        } else {
            x
        }
    } else {
        let factor = (10.0 as FLOAT).powi(-digits as i32);
        (x / factor).round() * factor
    }
}

/// An integer already has no decimals; negative `digits` round it to tens, hundreds...
fn round_int(x: INT, digits: INT) -> Fallible<INT> {
    if digits >= 0 {
        return Ok(x);
    }
    let Some(factor) = u32::try_from(-digits).ok().and_then(|d| (10 as INT).checked_pow(d)) else {
        return Ok(0);
    };
    let half = factor / 2;
    let rounded = if x >= 0 { x.checked_add(half) } else { x.checked_sub(half) };
    rounded.map(|r| r / factor * factor).ok_or_else(|| "round: integer out of range".into())
}
