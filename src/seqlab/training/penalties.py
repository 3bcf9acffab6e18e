"""Independence penalties between two feature subspaces (MFD): covariance, cross-prediction, shuffle.

Every penalty takes the two subspaces of a batch, a float32 (B, P) and b float32 (B, Q) (in MFD: the
biological and the technical features), and gives the encoder a scalar to minimise. Adversarial
penalties also hold networks of their own, trained by the adversary optimiser on
``adversary_loss(a.detach(), b.detach())``; the encoder's gradient flows through ``penalty(a, b)``.
Formulas (docs/mfd.md):

* covariance: the normalised cross-covariance (RV coefficient, the square root of linear CKA) of the
  batch-centred subspaces A (B, P), B (B, Q): ||A^T B||_F / sqrt(||A^T A||_F ||B^T B||_F), in [0, 1].
  It is unchanged when a subspace is multiplied by c != 0, rotated, or has a unit duplicated, so it
  cannot be lowered by shrinking or killing units: a subspace whose units all carry one signal s scores
  |corr(s, t)|-ish whether it keeps 1 or P copies (the per-column correlation norm it replaces grew
  with sqrt(P Q), so killing units was its cheapest way down). b = a gives 1; independent subspaces
  about (P Q)^(1/4) / sqrt(B) (sampling noise).
* variance floor (``variance_floor``, added to every penalty by the MFD module): per unit k of a
  subspace, relu(1 - sd_k / floor) averaged over units: 0 while every unit's batch sd >= floor, 1 for
  a subspace of dead units. It keeps units from dying (a unit whose ReLU is off on every input has
  no gradient to revive it, so the floor acts before that).
* cross-prediction: two distinct networks f: a -> b and g: b -> a. With targets standardised over
  the batch, R2(f; a -> b) = 1 - sum ||b_s - f(a)||^2 / sum ||b_s - mean b_s||^2 (pooled over the
  target's columns), likewise for g. Penalty = (R2(f) + R2(g)) / 2; the adversary maximises it
  (loss = -penalty on detached features), the encoder minimises it.
* shuffle: a discriminator D(a, b) -> logit tells joint pairs (a_i, b_i) from pairs (a_i, b_pi(i)) with b
  shuffled across the batch by a random permutation pi. Its loss is the class-balanced BCE
  L_D = (mean_i softplus(-D(a_i, b_i)) + mean_i softplus(D(a_i, b_pi(i)))) / 2; the penalty is
  log 2 - L_D, which at the optimal discriminator equals the Jensen-Shannon divergence between the
  joint and the product of marginals (0 when a and b are independent, at most log 2).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.metadata_head import mlp

__all__ = [
    "CovariancePenalty",
    "CrossPredictionPenalty",
    "Penalty",
    "ShufflePenalty",
    "build_penalty",
    "cross_covariance_norm",
    "explained_variance",
    "normalised_cross_covariance",
    "standardise",
    "variance_floor",
]

_EPS = 1e-5


def standardise(x: torch.Tensor) -> torch.Tensor:
    """Columns of x float32 (B, P) centred and scaled to unit (biased) sd over the batch: (x - mu) / (sd + 1e-5).

    A constant column (e.g. a dead ReLU unit) gives zeros and a zero gradient: the variance is clamped at
    1e-12 before the square root, whose derivative at 0 is infinite (NaN gradients otherwise).
    """
    x = x.float()
    centred = x - x.mean(dim=0, keepdim=True)
    return centred / (centred.pow(2).mean(dim=0, keepdim=True).clamp_min(1e-12).sqrt() + _EPS)


def cross_covariance_norm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """||a_s^T b_s / B||_F for a (B, P), b (B, Q) standardised per column: float32 scalar >= 0.

    The per-column correlation norm (a diagnostic): it grows with sqrt(P Q), so it rewards dead units;
    the penalty is :func:`normalised_cross_covariance`.
    """
    _check_batch(a, b)
    cross = standardise(a).T @ standardise(b) / a.shape[0]
    return torch.linalg.matrix_norm(cross, ord="fro")


def _check_batch(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape[0] != b.shape[0] or a.shape[0] < 2:
        raise ValueError(f"subspaces need the same batch of >= 2 rows, got {tuple(a.shape)} and {tuple(b.shape)}")


def normalised_cross_covariance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """RV coefficient ||A^T B||_F / sqrt(||A^T A||_F ||B^T B||_F) of batch-centred a (B, P), b (B, Q).

    float32 scalar in [0, 1]: 1 when b is a (or an invertible linear map of a with orthogonal
    columns), 0 for a dead (constant) subspace. Invariant to a -> c a, b -> c b (c != 0), to rotations
    of either subspace and to duplicated units; computed in float64 (the fourth powers of features).
    """
    _check_batch(a, b)
    a_c = (a - a.mean(dim=0, keepdim=True)).double()
    b_c = (b - b.mean(dim=0, keepdim=True)).double()
    cross = torch.linalg.matrix_norm(a_c.T @ b_c, ord="fro")
    own = torch.linalg.matrix_norm(a_c.T @ a_c, ord="fro") * torch.linalg.matrix_norm(b_c.T @ b_c, ord="fro")
    return (cross / (own + 1e-30).sqrt()).float()


def variance_floor(x: torch.Tensor, floor: float) -> torch.Tensor:
    """Mean over the units of x (B, P) of relu(1 - sd_k / floor) (batch sd): float32 in [0, 1].

    0 while every unit varies at least ``floor``; 1 when every unit is constant. ``floor`` <= 0: 0.
    """
    if floor <= 0:
        return x.new_zeros(()).float()
    sd = (x.float() - x.float().mean(dim=0, keepdim=True)).pow(2).mean(dim=0).clamp_min(1e-12).sqrt()
    return torch.relu(1.0 - sd / floor).mean()


def explained_variance(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pooled R2 = 1 - sum (t - p)^2 / sum (t - mean t)^2 over all entries of target (B, Q); float32 scalar.

    1 for a perfect prediction, 0 for predicting the column means, negative for worse.
    """
    target = target.float()
    residual = (target - prediction.float()).pow(2).sum()
    total = (target - target.mean(dim=0, keepdim=True)).pow(2).sum()
    return 1.0 - residual / (total + _EPS)


class Penalty(nn.Module):
    """Base of the penalties: ``penalty(a, b)`` for the encoder, ``adversary_loss`` for its networks."""

    has_adversary = False

    def penalty(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The encoder's penalty, float32 scalar (differentiable in a and b)."""
        raise NotImplementedError

    def adversary_loss(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The adversaries' loss on (detached) subspaces; only for penalties with adversaries."""
        raise NotImplementedError(f"{type(self).__name__} has no adversary")

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`penalty`."""
        return self.penalty(a, b)


class CovariancePenalty(Penalty):
    """The normalised cross-covariance (RV coefficient, :func:`normalised_cross_covariance`); no parameters."""

    def penalty(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """float32 scalar in [0, 1], scale-invariant per subspace; small for independent features."""
        return normalised_cross_covariance(a, b)


class CrossPredictionPenalty(Penalty):
    """Two adversaries, ``a_to_b`` (P -> Q) and ``b_to_a`` (Q -> P): distinct networks, own parameters.

    ``penalty`` = (R2(a_to_b(a_s), b_s) + R2(b_to_a(b_s), a_s)) / 2 with standardised subspaces;
    ``adversary_loss`` = -penalty (the predictors maximise the explained variance).
    """

    has_adversary = True

    def __init__(self, dim_a: int, dim_b: int, hidden: int = 32) -> None:
        super().__init__()
        self.a_to_b = mlp(dim_a, dim_b, hidden)
        self.b_to_a = mlp(dim_b, dim_a, hidden)

    def directions(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(R2 of a -> b, R2 of b -> a), each a float32 scalar."""
        a_s, b_s = standardise(a), standardise(b)
        return explained_variance(self.a_to_b(a_s), b_s), explained_variance(self.b_to_a(b_s), a_s)

    def penalty(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Mean explained variance of the two directions, float32 scalar <= 1."""
        forward, backward = self.directions(a, b)
        return (forward + backward) / 2

    def adversary_loss(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """-penalty: minimising it trains both predictors to explain as much as they can."""
        return -self.penalty(a, b)


class ShufflePenalty(Penalty):
    """A discriminator of joint (a_i, b_i) vs shuffled (a_i, b_pi(i)) pairs; penalty = log 2 - its BCE.

    Args:
        dim_a, dim_b: subspace sizes P and Q.
        hidden: hidden units of the discriminator (0: linear, which cannot see dependence; use > 0).
        generator: optional torch.Generator for the permutations (tests).
    """

    has_adversary = True

    def __init__(self, dim_a: int, dim_b: int, hidden: int = 32, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.discriminator = mlp(dim_a + dim_b, 1, hidden)
        self.generator = generator

    def discriminator_loss(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Class-balanced BCE L_D of joint (label 1) vs shuffled (label 0) pairs, float32 scalar."""
        a_s, b_s = standardise(a), standardise(b)
        perm = torch.randperm(a.shape[0], generator=self.generator).to(a.device)
        joint = self.discriminator(torch.cat([a_s, b_s], dim=1)).squeeze(-1)
        shuffled = self.discriminator(torch.cat([a_s, b_s[perm]], dim=1)).squeeze(-1)
        return (F.softplus(-joint).mean() + F.softplus(shuffled).mean()) / 2

    def penalty(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The penalty log 2 - L_D: 0 at chance, up to log 2 when the discriminator separates the pairs."""
        return math.log(2.0) - self.discriminator_loss(a, b)

    def adversary_loss(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """L_D (the discriminator minimises its BCE)."""
        return self.discriminator_loss(a, b)


def build_penalty(kind: str, dim_a: int, dim_b: int, hidden: int = 32) -> Penalty | None:
    """The penalty named ``kind`` ('none' -> None, 'covariance', 'cross_prediction', 'shuffle')."""
    if kind == "none":
        return None
    if kind == "covariance":
        return CovariancePenalty()
    if kind == "cross_prediction":
        return CrossPredictionPenalty(dim_a, dim_b, hidden)
    if kind == "shuffle":
        return ShufflePenalty(dim_a, dim_b, hidden)
    raise ValueError(f"mfd.penalty {kind!r} is not one of none, covariance, cross_prediction, shuffle")
