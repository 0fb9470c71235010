//! L2-regularised, class-weighted logistic regression on standardised features.
//!
//! Fitting minimises `Σ wᵢ·logloss(yᵢ, σ(b + β·zᵢ)) + (λ/2)·‖β‖²` (the intercept `b` is not
//! penalised) by Newton's method with step halving. With `λ > 0` the objective is strictly
//! convex, so the minimum is unique and the fit deterministic; with `λ = 0` it exists unless the
//! classes are separable, which is then reported ([`FitError::NotConverged`]). Class weights
//! (`balanced`) give each class half the total weight, because conflicts are rare and an
//! unweighted model would learn to predict "clean" everywhere.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::features::FEATURE_NAMES;

/// The format version of a serialised [`Model`]; bumped whenever its meaning changes.
pub const MODEL_VERSION: u32 = 1;

/// Options for [`fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// The L2 penalty λ on the standardised coefficients (≥ 0).
    pub l2: f64,
    /// Weight the classes so that each carries half the total weight.
    pub balanced: bool,
    /// The most Newton iterations.
    pub max_iter: usize,
    /// Convergence: the largest Newton step component (in standardised units).
    pub tol: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            l2: 1.0,
            balanced: true,
            max_iter: 100,
            tol: 1e-9,
        }
    }
}

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FitError {
    /// No rows.
    #[error("no training rows")]
    Empty,
    /// The rows and labels differ in number.
    #[error("{rows} rows but {labels} labels")]
    LengthMismatch {
        /// Rows.
        rows: usize,
        /// Labels.
        labels: usize,
    },
    /// A row has the wrong width.
    #[error("row {row} has {len} values, expected {expected}")]
    RaggedRow {
        /// The row.
        row: usize,
        /// Its width.
        len: usize,
        /// The expected width (the feature names').
        expected: usize,
    },
    /// A value is NaN or infinite.
    #[error("row {row}, feature `{feature}` is not finite")]
    NonFinite {
        /// The row.
        row: usize,
        /// The feature's name.
        feature: String,
    },
    /// All labels are the same.
    #[error("all {rows} rows are {}", if *positive { "positive" } else { "negative" })]
    OneClass {
        /// The label every row has.
        positive: bool,
        /// Rows.
        rows: usize,
    },
    /// An option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Newton's method did not converge (e.g. separable classes with no penalty).
    #[error("did not converge in {iterations} iterations (separable classes? use l2 > 0)")]
    NotConverged {
        /// Iterations run.
        iterations: usize,
    },
}

/// Why serialised model bytes were rejected.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// Not JSON of the model's shape.
    #[error("not a merge-risk model: {0}")]
    Malformed(String),
    /// Another format version.
    #[error("model format version {found}, expected {expected}")]
    Version {
        /// The version in the bytes.
        found: u32,
        /// This engine's [`MODEL_VERSION`].
        expected: u32,
    },
    /// Another feature set.
    #[error("model features [{}] differ from the engine's [{}]", found.join(", "), expected.join(", "))]
    FeatureSet {
        /// The features in the bytes.
        found: Vec<String>,
        /// The engine's.
        expected: Vec<String>,
    },
    /// The vectors' lengths or values are inconsistent.
    #[error("inconsistent model: {0}")]
    Inconsistent(String),
}

/// What a model was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Rows fitted.
    pub rows: usize,
    /// Positive (conflicting) rows.
    pub positives: usize,
    /// Newton iterations used.
    pub iterations: usize,
    /// The L2 penalty.
    pub l2: f64,
    /// The weight of a positive and of a negative row.
    pub class_weights: (f64, f64),
    /// Features with zero variance in the training data (given std 1; their coefficient is 0).
    pub zero_variance: Vec<String>,
}

/// A fitted model: standardisation, coefficients, decision threshold and provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// [`MODEL_VERSION`] when written.
    pub version: u32,
    /// The features, in input order.
    pub feature_names: Vec<String>,
    /// Training means, per feature.
    pub means: Vec<f64>,
    /// Training standard deviations (population), per feature; 1 where the variance is zero.
    pub stds: Vec<f64>,
    /// Coefficients on the standardised features.
    pub coefficients: Vec<f64>,
    /// The intercept (log-odds at the training mean).
    pub intercept: f64,
    /// The probability at or above which a conflict is predicted.
    pub threshold: f64,
    /// What it was fitted on.
    pub summary: TrainingSummary,
}

/// The logistic function, without overflow for large |z|.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Column means and population standard deviations; a zero-variance column gets std 1 (so its
/// standardised value is 0 everywhere) and its index is returned in the third vector.
pub fn standardisation(x: &[Vec<f64>], width: usize) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
    let n = x.len().max(1) as f64;
    let mut means = vec![0.0; width];
    for row in x {
        for (m, v) in means.iter_mut().zip(row) {
            *m += v;
        }
    }
    means.iter_mut().for_each(|m| *m /= n);
    let mut vars = vec![0.0; width];
    for row in x {
        for ((s, v), m) in vars.iter_mut().zip(row).zip(&means) {
            *s += (v - m) * (v - m);
        }
    }
    let mut zero = Vec::new();
    let stds = vars
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let sd = (s / n).sqrt();
            // Relative to the mean's scale: rounding leaves ~1e-16 of "variance" in constants.
            if sd <= 1e-12 * (1.0 + means[j].abs()) {
                zero.push(j);
                1.0
            } else {
                sd
            }
        })
        .collect();
    (means, stds, zero)
}

/// Fits a model on rows `x` (in [`FEATURE_NAMES`] order) and labels `y` (true = conflicting).
pub fn fit(x: &[Vec<f64>], y: &[bool], opts: &FitOptions) -> Result<Model, FitError> {
    fit_named(FEATURE_NAMES, x, y, opts)
}

/// Solves `a·s = b` for symmetric positive definite `a` (row-major `d×d`) by Cholesky; `None`
/// when `a` is not positive definite.
fn cholesky_solve(a: &[f64], b: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    let mut z = vec![0.0; d];
    for i in 0..d {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * d + k] * z[k];
        }
        z[i] = s / l[i * d + i];
    }
    let mut out = vec![0.0; d];
    for i in (0..d).rev() {
        let mut s = z[i];
        for k in i + 1..d {
            s -= l[k * d + i] * out[k];
        }
        out[i] = s / l[i * d + i];
    }
    Some(out)
}

/// The penalised, weighted negative log-likelihood of parameters `theta` = [b, β…] over the
/// design rows `z` (with a leading 1).
fn objective(z: &[Vec<f64>], y: &[bool], w: (f64, f64), l2: f64, theta: &[f64]) -> f64 {
    let mut loss = 0.0;
    for (row, &label) in z.iter().zip(y) {
        let eta: f64 = row.iter().zip(theta).map(|(a, b)| a * b).sum();
        // -log σ(η) = softplus(-η); -log(1-σ(η)) = softplus(η), computed stably.
        let softplus = |t: f64| {
            if t > 0.0 {
                t + (-t).exp().ln_1p()
            } else {
                t.exp().ln_1p()
            }
        };
        loss += if label {
            w.0 * softplus(-eta)
        } else {
            w.1 * softplus(eta)
        };
    }
    loss + 0.5 * l2 * theta[1..].iter().map(|t| t * t).sum::<f64>()
}

/// Fits a model with explicit feature names (any width; [`fit`] uses [`FEATURE_NAMES`]).
pub fn fit_named(
    names: &[&str],
    x: &[Vec<f64>],
    y: &[bool],
    opts: &FitOptions,
) -> Result<Model, FitError> {
    if !(opts.l2.is_finite() && opts.l2 >= 0.0) {
        return Err(FitError::InvalidOption(format!(
            "l2 = {} (must be finite and >= 0)",
            opts.l2
        )));
    }
    if x.is_empty() {
        return Err(FitError::Empty);
    }
    if x.len() != y.len() {
        return Err(FitError::LengthMismatch {
            rows: x.len(),
            labels: y.len(),
        });
    }
    let width = names.len();
    for (row, values) in x.iter().enumerate() {
        if values.len() != width {
            return Err(FitError::RaggedRow {
                row,
                len: values.len(),
                expected: width,
            });
        }
        if let Some(j) = values.iter().position(|v| !v.is_finite()) {
            return Err(FitError::NonFinite {
                row,
                feature: names[j].to_string(),
            });
        }
    }
    let n = x.len();
    let positives = y.iter().filter(|&&b| b).count();
    if positives == 0 || positives == n {
        return Err(FitError::OneClass {
            positive: positives == n,
            rows: n,
        });
    }
    let weights = if opts.balanced {
        (
            n as f64 / (2.0 * positives as f64),
            n as f64 / (2.0 * (n - positives) as f64),
        )
    } else {
        (1.0, 1.0)
    };
    let (means, stds, zero) = standardisation(x, width);
    // Design rows: a leading 1 for the intercept, then standardised features.
    let z: Vec<Vec<f64>> = x
        .iter()
        .map(|row| {
            std::iter::once(1.0)
                .chain(
                    row.iter()
                        .zip(means.iter().zip(&stds))
                        .map(|(v, (m, s))| (v - m) / s),
                )
                .collect()
        })
        .collect();
    let d = width + 1;
    let mut theta = vec![0.0; d];
    let mut current = objective(&z, y, weights, opts.l2, &theta);
    let mut iterations = 0;
    let mut converged = false;
    while iterations < opts.max_iter {
        iterations += 1;
        let mut grad = vec![0.0; d];
        let mut hess = vec![0.0; d * d];
        for (row, &label) in z.iter().zip(y) {
            let eta: f64 = row.iter().zip(&theta).map(|(a, b)| a * b).sum();
            let p = sigmoid(eta);
            let w = if label { weights.0 } else { weights.1 };
            let r = w * (p - if label { 1.0 } else { 0.0 });
            let s = w * p * (1.0 - p);
            for i in 0..d {
                grad[i] += r * row[i];
                for j in 0..=i {
                    hess[i * d + j] += s * row[i] * row[j];
                }
            }
        }
        for i in 0..d {
            for j in 0..i {
                hess[j * d + i] = hess[i * d + j];
            }
        }
        for j in 1..d {
            grad[j] += opts.l2 * theta[j];
            hess[j * d + j] += opts.l2;
        }
        // Zero-variance columns are all 0: a tiny ridge keeps the Hessian definite without
        // moving any other coefficient (their gradient is exactly 0).
        for &j in &zero {
            hess[(j + 1) * d + (j + 1)] += 1.0;
        }
        let Some(step) = cholesky_solve(&hess, &grad, d) else {
            // Only possible with l2 = 0 and a degenerate design: report, don't guess.
            return Err(FitError::NotConverged { iterations });
        };
        let full = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        if full < opts.tol {
            converged = true;
            break;
        }
        // Step halving: Newton steps can overshoot far from the optimum.
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            let candidate: Vec<f64> = theta.iter().zip(&step).map(|(a, s)| a - t * s).collect();
            let value = objective(&z, y, weights, opts.l2, &candidate);
            // Strict decrease: at the floating-point floor an equal value means no progress.
            if value < current {
                theta = candidate;
                current = value;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            // No decrease representable in floating point: at the optimum if the step is small.
            converged = full < 1e-6;
            break;
        }
    }
    // Without a penalty, separable data drive the coefficients to infinity.
    if !converged || theta.iter().any(|t| !t.is_finite() || t.abs() > 1e6) {
        return Err(FitError::NotConverged { iterations });
    }
    Ok(Model {
        version: MODEL_VERSION,
        feature_names: names.iter().map(|s| s.to_string()).collect(),
        means,
        stds,
        coefficients: theta[1..].to_vec(),
        intercept: theta[0],
        threshold: 0.5,
        summary: TrainingSummary {
            rows: n,
            positives,
            iterations,
            l2: opts.l2,
            class_weights: weights,
            zero_variance: zero.iter().map(|&j| names[j].to_string()).collect(),
        },
    })
}

/// How far from the training mean, in standard deviations, a feature may pull a score. A
/// branch scored today can lie far outside what the merges of the past showed (a tip idle for
/// years, when past merges came days after their last commit); a linear model would
/// extrapolate without bound and every such branch would score 100 on that one feature.
/// Beyond this the model has no evidence, so it counts as this far.
pub const MAX_Z: f64 = 4.0;

impl Model {
    /// The standardised value of each feature of `x` (missing trailing values count as the
    /// mean), within [`MAX_Z`] standard deviations of the training mean.
    fn standardised<'a>(&'a self, x: &'a [f64]) -> impl Iterator<Item = f64> + 'a {
        // Zipped, not indexed: a hand-built model with ragged vectors cannot panic here.
        self.means
            .iter()
            .zip(&self.stds)
            .enumerate()
            .map(move |(j, (m, s))| match x.get(j) {
                Some(v) if v.is_finite() => ((v - m) / s).clamp(-MAX_Z, MAX_Z),
                _ => 0.0,
            })
    }

    /// The log-odds of a conflict for feature row `x`.
    pub fn logit(&self, x: &[f64]) -> f64 {
        self.intercept
            + self
                .standardised(x)
                .zip(&self.coefficients)
                .map(|(z, c)| z * c)
                .sum::<f64>()
    }

    /// The probability of a conflict for feature row `x`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        sigmoid(self.logit(x))
    }

    /// Each feature's contribution to the log-odds (coefficient × standardised value), sorted by
    /// decreasing magnitude (ties by name); they sum, with the intercept, to [`Model::logit`].
    pub fn contributions(&self, x: &[f64]) -> Vec<(&str, f64)> {
        let mut out: Vec<(&str, f64)> = self
            .standardised(x)
            .zip(&self.coefficients)
            .zip(&self.feature_names)
            .map(|((z, c), name)| (name.as_str(), z * c))
            .collect();
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(b.0)));
        out
    }

    /// The model as versioned JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of numbers, strings and vectors: serialisation cannot fail, except for
        // non-finite floats, which serde_json writes as `null` (then rejected on reading).
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a model written by [`Model::to_bytes`], for this engine's [`FEATURE_NAMES`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        Model::from_bytes_for(bytes, FEATURE_NAMES)
    }

    /// Reads a model written by [`Model::to_bytes`], expecting the feature set `names`.
    pub fn from_bytes_for(bytes: &[u8], names: &[&str]) -> Result<Model, ModelError> {
        // The version first, so that a future format is reported as such, not as malformed.
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let v: Versioned =
            serde_json::from_slice(bytes).map_err(|e| ModelError::Malformed(e.to_string()))?;
        if v.version != MODEL_VERSION {
            return Err(ModelError::Version {
                found: v.version,
                expected: MODEL_VERSION,
            });
        }
        let model: Model =
            serde_json::from_slice(bytes).map_err(|e| ModelError::Malformed(e.to_string()))?;
        if model
            .feature_names
            .iter()
            .map(String::as_str)
            .ne(names.iter().copied())
        {
            return Err(ModelError::FeatureSet {
                found: model.feature_names.clone(),
                expected: names.iter().map(|s| s.to_string()).collect(),
            });
        }
        let d = names.len();
        if model.means.len() != d || model.stds.len() != d || model.coefficients.len() != d {
            return Err(ModelError::Inconsistent(format!(
                "{} features but {} means, {} stds, {} coefficients",
                d,
                model.means.len(),
                model.stds.len(),
                model.coefficients.len()
            )));
        }
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if !finite(&model.means)
            || !finite(&model.coefficients)
            || !model.intercept.is_finite()
            || model.stds.iter().any(|s| !(s.is_finite() && *s > 0.0))
            || !(0.0..=1.0).contains(&model.threshold)
        {
            return Err(ModelError::Inconsistent(
                "non-finite values, a non-positive std or a threshold outside [0, 1]".into(),
            ));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn standardisation_of_a_small_matrix() {
        // Column 0: 1, 2, 3 → mean 2, population variance (1 + 0 + 1)/3 = 2/3.
        // Column 1: constant 10 → zero variance, std 1, noted.
        let x = vec![vec![1.0, 10.0], vec![2.0, 10.0], vec![3.0, 10.0]];
        let (means, stds, zero) = standardisation(&x, 2);
        assert_eq!(means, vec![2.0, 10.0]);
        assert!(close(stds[0], (2.0f64 / 3.0).sqrt(), 1e-15));
        assert_eq!(stds[1], 1.0);
        assert_eq!(zero, vec![1]);
    }

    #[test]
    fn saturated_binary_feature_recovers_the_group_log_odds() {
        // One binary feature x, no penalty, no weighting (the classes are balanced anyway).
        // x = 0: 1 of 4 positive → p0 = 1/4; x = 1: 3 of 4 positive → p1 = 3/4.
        // A model with an intercept and one binary feature is saturated, so the MLE fits each
        // group's rate: raw slope = logit(3/4) − logit(1/4) = ln 3 − (−ln 3) = 2 ln 3.
        // Standardised: mean 1/2, std 1/2 → β = 2 ln 3 · 1/2 = ln 3 ≈ 1.0986;
        // intercept = logit at x = 1/2 = −ln 3 + 2 ln 3 · 1/2 = 0.
        let x: Vec<Vec<f64>> = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
            .iter()
            .map(|&v| vec![v])
            .collect();
        let y = [true, false, false, false, true, true, true, false];
        let opts = FitOptions {
            l2: 0.0,
            balanced: false,
            ..FitOptions::default()
        };
        let m = fit_named(&["x"], &x, &y, &opts).unwrap();
        assert!(close(m.coefficients[0], 3f64.ln(), 1e-9), "{m:?}");
        assert!(close(m.intercept, 0.0, 1e-9), "{m:?}");
        assert!(close(m.predict(&[0.0]), 0.25, 1e-9));
        assert!(close(m.predict(&[1.0]), 0.75, 1e-9));
    }

    #[test]
    fn balanced_weights_shift_the_group_rates_as_computed_by_hand() {
        // 12 rows, 4 positive: w+ = 12/(2·4) = 1.5, w− = 12/(2·8) = 0.75.
        // x = 0: 1 positive, 7 negative → weighted rate 1.5/(1.5 + 5.25) = 2/9;
        // x = 1: 3 positive, 1 negative → 4.5/(4.5 + 0.75) = 6/7.
        // Saturated again, so the fit matches those rates: raw slope = ln 6 − ln(2/7) = ln 21.
        // mean x = 1/3, std = sqrt(1/3 · 2/3) = √2/3 → β = ln 21 · √2/3 ≈ 1.43527;
        // intercept = ln(2/7) + ln 21 / 3 ≈ −0.23797.
        let mut x = vec![vec![0.0]; 8];
        x.extend(vec![vec![1.0]; 4]);
        let mut y = vec![true];
        y.extend([false; 7]);
        y.extend([true, true, true, false]);
        let opts = FitOptions {
            l2: 0.0,
            ..FitOptions::default()
        };
        let m = fit_named(&["x"], &x, &y, &opts).unwrap();
        assert_eq!(m.summary.class_weights, (1.5, 0.75));
        let beta = 21f64.ln() * 2f64.sqrt() / 3.0;
        let b0 = (2.0f64 / 7.0).ln() + 21f64.ln() / 3.0;
        assert!(close(m.coefficients[0], beta, 1e-9), "{m:?}");
        assert!(close(m.intercept, b0, 1e-9), "{m:?}");
        assert!(close(m.predict(&[0.0]), 2.0 / 9.0, 1e-9));
        assert!(close(m.predict(&[1.0]), 6.0 / 7.0, 1e-9));
    }

    #[test]
    fn penalised_fit_satisfies_the_optimality_condition_and_shrinks() {
        let x: Vec<Vec<f64>> = (0..40)
            .map(|i| vec![f64::from(i % 10), f64::from((i * 7) % 5)])
            .collect();
        let y: Vec<bool> = (0..40).map(|i| (i % 10) + (i % 3) > 6).collect();
        let loose = fit_named(&["a", "b"], &x, &y, &FitOptions::default()).unwrap();
        let tight = fit_named(
            &["a", "b"],
            &x,
            &y,
            &FitOptions {
                l2: 50.0,
                ..FitOptions::default()
            },
        )
        .unwrap();
        assert!(loose.coefficients[0] > 0.0);
        assert!(tight.coefficients[0].abs() < loose.coefficients[0].abs());
        // Gradient of the penalised objective at the optimum: Σ wᵢ(pᵢ − yᵢ)zᵢ + λβ = 0.
        let (wp, wn) = loose.summary.class_weights;
        let mut grad = [0.0; 3];
        for (row, &label) in x.iter().zip(&y) {
            let p = loose.predict(row);
            let w = if label { wp } else { wn };
            let r = w * (p - f64::from(u8::from(label)));
            grad[0] += r;
            for j in 0..2 {
                grad[j + 1] += r * (row[j] - loose.means[j]) / loose.stds[j];
            }
        }
        grad[1] += loose.coefficients[0];
        grad[2] += loose.coefficients[1];
        assert!(grad.iter().all(|g| g.abs() < 1e-8), "{grad:?}");
    }

    #[test]
    fn separable_data_without_penalty_is_reported_and_with_penalty_fits() {
        let x: Vec<Vec<f64>> = (0..10).map(|i| vec![f64::from(i)]).collect();
        let y: Vec<bool> = (0..10).map(|i| i >= 5).collect();
        let none = FitOptions {
            l2: 0.0,
            ..FitOptions::default()
        };
        assert!(matches!(
            fit_named(&["x"], &x, &y, &none),
            Err(FitError::NotConverged { .. })
        ));
        let m = fit_named(&["x"], &x, &y, &FitOptions::default()).unwrap();
        assert!(m.coefficients[0] > 1.0);
        assert!(m.predict(&[9.0]) > 0.9 && m.predict(&[0.0]) < 0.1);
    }

    #[test]
    fn input_errors_are_typed() {
        let o = FitOptions::default();
        assert_eq!(fit_named(&["x"], &[], &[], &o), Err(FitError::Empty));
        assert!(matches!(
            fit_named(&["x"], &[vec![1.0]], &[true, false], &o),
            Err(FitError::LengthMismatch { rows: 1, labels: 2 })
        ));
        assert!(matches!(
            fit_named(&["x"], &[vec![1.0], vec![1.0, 2.0]], &[true, false], &o),
            Err(FitError::RaggedRow { row: 1, .. })
        ));
        assert!(matches!(
            fit_named(&["x"], &[vec![1.0], vec![f64::NAN]], &[true, false], &o),
            Err(FitError::NonFinite { row: 1, .. })
        ));
        assert!(matches!(
            fit_named(&["x"], &[vec![1.0], vec![2.0]], &[true, true], &o),
            Err(FitError::OneClass { positive: true, .. })
        ));
        let bad = FitOptions {
            l2: -1.0,
            ..FitOptions::default()
        };
        assert!(matches!(
            fit_named(&["x"], &[vec![1.0], vec![2.0]], &[true, false], &bad),
            Err(FitError::InvalidOption(_))
        ));
    }

    #[test]
    fn zero_variance_feature_is_noted_and_ignored() {
        let x: Vec<Vec<f64>> = (0..20).map(|i| vec![f64::from(i % 4), 3.0]).collect();
        let y: Vec<bool> = (0..20).map(|i| i % 4 >= 2 && i % 5 != 0).collect();
        let m = fit_named(&["a", "k"], &x, &y, &FitOptions::default()).unwrap();
        assert_eq!(m.summary.zero_variance, vec!["k".to_string()]);
        assert_eq!(m.stds[1], 1.0);
        assert!(m.coefficients[1].abs() < 1e-12);
    }

    #[test]
    fn contributions_sum_with_the_intercept_to_the_logit() {
        let x: Vec<Vec<f64>> = (0..30)
            .map(|i| vec![f64::from(i % 7), f64::from(i % 3), f64::from(i % 2)])
            .collect();
        let y: Vec<bool> = (0..30).map(|i| (i % 7) + (i % 2) * 2 > 4).collect();
        let m = fit_named(&["a", "b", "c"], &x, &y, &FitOptions::default()).unwrap();
        let row = [5.0, 1.0, 0.0];
        let c = m.contributions(&row);
        assert_eq!(c.len(), 3);
        let sum: f64 = c.iter().map(|(_, v)| v).sum();
        assert!(close(sum + m.intercept, m.logit(&row), 1e-12));
        assert!(close(sigmoid(m.logit(&row)), m.predict(&row), 1e-15));
        assert!(c.windows(2).all(|w| w[0].1.abs() >= w[1].1.abs()));
    }

    #[test]
    fn bytes_round_trip_and_reject_other_versions_and_feature_sets() {
        let x: Vec<Vec<f64>> = (0..20)
            .map(|i| {
                (0..FEATURE_NAMES.len())
                    .map(|j| f64::from((i * (j as i32 + 1)) % 7))
                    .collect()
            })
            .collect();
        let y: Vec<bool> = (0..20).map(|i| i % 3 == 0).collect();
        let m = fit(&x, &y, &FitOptions::default()).unwrap();
        let bytes = m.to_bytes();
        assert_eq!(Model::from_bytes(&bytes).unwrap(), m);

        let mut other = m.clone();
        other.version = MODEL_VERSION + 1;
        assert_eq!(
            Model::from_bytes(&other.to_bytes()),
            Err(ModelError::Version {
                found: MODEL_VERSION + 1,
                expected: MODEL_VERSION
            })
        );
        assert!(matches!(
            Model::from_bytes_for(&bytes, &["x"]),
            Err(ModelError::FeatureSet { .. })
        ));
        let mut short = m.clone();
        short.means.pop();
        assert!(matches!(
            Model::from_bytes(&short.to_bytes()),
            Err(ModelError::Inconsistent(_))
        ));
        assert!(matches!(
            Model::from_bytes(b"{not json"),
            Err(ModelError::Malformed(_))
        ));
    }
}
