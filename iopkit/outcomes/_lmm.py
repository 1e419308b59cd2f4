"""lme4's profiled log-likelihood of a linear mixed model with one grouping factor, evaluated
for all groups at once.

Model (Bates, Mächler, Bolker & Walker 2015, *J Stat Softw* 67(1), §3,
doi:10.18637/jss.v067.i01): y = Xβ + Zb + ε, ε ~ N(0, σ²I), and per group g independently
b_g ~ N(0, σ²ΛΛᵀ) with Λ the q×q lower-triangular relative covariance factor whose entries
(column-wise lower triangle, lme4's order) are θ. β and σ² are profiled out:

* ML:   −2ℓ(θ) = log|L_θ|² + n·[1 + log(2π r²(θ)/n)]                                 (eq. 34)
* REML: −2ℓ_R(θ) = log|L_θ|² + log|R_X|² + (n−p)·[1 + log(2π r²(θ)/(n−p))]            (eq. 41)

With one grouping factor L_θ is block diagonal, so |L_θ|² = Π_g |M_g| with
M_g = I_q + ΛᵀZ_gᵀZ_gΛ, and by the Woodbury identity (V = I + ZΛΛᵀZᵀ)

    XᵀV⁻¹X = XᵀX − Σ_g (ΛᵀZ_gᵀX_g)ᵀ M_g⁻¹ (ΛᵀZ_gᵀX_g),     |R_X|² = |XᵀV⁻¹X|,

likewise XᵀV⁻¹y and yᵀV⁻¹y; β̂ = (XᵀV⁻¹X)⁻¹XᵀV⁻¹y, r² = yᵀV⁻¹y − β̂ᵀXᵀV⁻¹y,
σ̂² = r²/n (ML) or r²/(n−p) (REML), Var(β̂) = σ̂²(XᵀV⁻¹X)⁻¹ (lme4 ``vcov.merMod``).

Why hand-written: statsmodels' ``MixedLM`` evaluates the same likelihood with a Python loop
over groups (one Sherman–Morrison–Woodbury solve per group per evaluation, ~86,000 for one
1,000-episode fit: 10 s). Here the per-group sufficient statistics ZᵀZ, ZᵀX, Zᵀy are summed
once and every evaluation is a few batched q×q numpy operations, O(G·q²·p). statsmodels
still builds the design (formula, missing rows, term names); its likelihood is the
cross-check in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Profile:
    """The profiled quantities at one θ."""

    llf: float
    beta: np.ndarray
    sigma2: float
    xvx: np.ndarray  # XᵀV⁻¹X (relative to σ²)


class GroupedLMM:
    """Sufficient statistics of ``y ~ X + (Z | group)`` and its profiled log-likelihood."""

    def __init__(self, y: np.ndarray, x: np.ndarray, z: np.ndarray, groups: np.ndarray,
                 *, reml: bool) -> None:
        y = np.asarray(y, dtype=float)
        x = np.asarray(x, dtype=float)
        z = np.asarray(z, dtype=float)
        codes, _ = pd.factorize(np.asarray(groups))
        order = np.argsort(codes, kind="stable")
        codes = codes[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        y, x, z = y[order], x[order], z[order]
        self.n, self.p = x.shape
        self.q = z.shape[1]
        self.reml = reml
        self.n_groups = len(starts)
        xy = np.column_stack([x, y])  # (n, p+1)
        self.zz = np.add.reduceat(z[:, :, None] * z[:, None, :], starts, axis=0)  # (G,q,q)
        self.zxy = np.add.reduceat(z[:, :, None] * xy[:, None, :], starts, axis=0)  # (G,q,p+1)
        self.xyxy = xy.T @ xy  # (p+1, p+1)
        rows, cols = np.tril_indices(self.q)
        order = np.lexsort((rows, cols))  # column-major order of the lower triangle (lme4's)
        self._rows, self._cols = rows[order], cols[order]
        self.k = len(self._rows)
        #: positions of Λ's diagonal in θ
        self.diagonal = np.flatnonzero(self._rows == self._cols)

    def lam(self, theta: np.ndarray) -> np.ndarray:
        """Λ from θ (lower triangle, column by column as lme4 orders it)."""
        lam = np.zeros((self.q, self.q))
        lam[self._rows, self._cols] = theta
        return lam

    def theta_of(self, lam: np.ndarray) -> np.ndarray:
        """θ of a lower-triangular Λ (the inverse of :meth:`lam`)."""
        return lam[self._rows, self._cols].copy()

    def profile(self, theta: np.ndarray) -> Profile:
        """Profiled log-likelihood (ML or REML as constructed) and β̂, σ̂² at θ."""
        lam = self.lam(np.asarray(theta, dtype=float))
        p = self.p
        m = lam.T @ self.zz @ lam  # ΛᵀZᵀZΛ per group, (G, q, q)
        m += np.eye(self.q)
        chol = np.linalg.cholesky(m)
        logdet_m = 2.0 * float(np.log(chol.diagonal(axis1=1, axis2=2)).sum())
        u = lam.T @ self.zxy  # Λᵀ Zᵀ[X y]   (G, q, p+1)
        w = np.linalg.solve(m, u)
        flat = (self.n_groups * self.q, p + 1)
        c = self.xyxy - u.reshape(flat).T @ w.reshape(flat)
        xvx, xvy, yvy = c[:p, :p], c[:p, p], c[p, p]
        beta = np.linalg.solve(xvx, xvy)
        r2 = float(yvy - xvy @ beta)
        if self.reml:
            dof = self.n - p
            _, logdet_x = np.linalg.slogdet(xvx)
            dev = logdet_m + logdet_x + dof * (1 + np.log(2 * np.pi * r2 / dof))
        else:
            dof = self.n
            dev = logdet_m + dof * (1 + np.log(2 * np.pi * r2 / dof))
        return Profile(-0.5 * float(dev), beta, r2 / dof, xvx)

    def loglike(self, theta: np.ndarray) -> float:
        try:
            return self.profile(theta).llf
        except np.linalg.LinAlgError:
            return -np.inf

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """Central differences of the log-likelihood (step 1e-6·max(1, |θⱼ|))."""
        theta = np.asarray(theta, dtype=float)
        g = np.empty(theta.size)
        for j in range(theta.size):
            h = 1e-6 * max(1.0, abs(theta[j]))
            e = np.zeros(theta.size)
            e[j] = h
            g[j] = (self.loglike(theta + e) - self.loglike(theta - e)) / (2 * h)
        return g

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """Central differences of :meth:`gradient` (step 1e-4·max(1, |θⱼ|)), symmetrised."""
        theta = np.asarray(theta, dtype=float)
        k = theta.size
        h_mat = np.empty((k, k))
        for j in range(k):
            h = 1e-4 * max(1.0, abs(theta[j]))
            e = np.zeros(k)
            e[j] = h
            h_mat[:, j] = (self.gradient(theta + e) - self.gradient(theta - e)) / (2 * h)
        return (h_mat + h_mat.T) / 2

    def canonical(self, theta: np.ndarray) -> np.ndarray:
        """θ with every column of Λ signed so its diagonal is ≥ 0 (ΛΛᵀ, hence the likelihood,
        is unchanged; lme4 constrains the diagonal to ≥ 0)."""
        lam = self.lam(theta)
        signs = np.where(np.diag(lam) < 0, -1.0, 1.0)
        return self.theta_of(lam * signs[None, :])

