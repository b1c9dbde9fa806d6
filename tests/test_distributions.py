"""MaskedMultiCategorical against a per-component reference written out directly: the same
log-probabilities, entropies, modes and gradients, no mass or gradient on illegal options,
and samples that follow the probabilities."""

from __future__ import annotations

import torch

from negenv.distributions import MaskedMultiCategorical

NVEC = (2, 5, 3, 1, 4)


def case(rows: int = 64, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(rows, sum(NVEC), generator=gen, dtype=torch.float64) * 3
    mask = torch.rand(rows, sum(NVEC), generator=gen) < 0.7
    start = 0
    for n in NVEC:  # every component keeps at least one legal option
        first = torch.randint(n, (rows,), generator=gen)
        mask[torch.arange(rows), start + first] = True
        start += n
    return logits.requires_grad_(), mask


def reference(logits, mask):
    """(log-probabilities per component, with -inf on illegal options)."""
    out, start = [], 0
    for n in NVEC:
        seg = logits[:, start : start + n].masked_fill(~mask[:, start : start + n], -torch.inf)
        out.append(torch.log_softmax(seg, -1))
        start += n
    return out


def picked(logp, actions):
    return sum(lp.gather(1, actions[:, i : i + 1])[:, 0] for i, lp in enumerate(logp))


def test_log_prob_entropy_and_mode_match_the_reference_with_gradients():
    logits, mask = case()
    dist = MaskedMultiCategorical(logits, mask, NVEC)
    ref = reference(logits, mask)
    actions = dist.mode
    want_mode = torch.stack([lp.argmax(-1) for lp in ref], -1)
    assert torch.equal(actions, want_mode)
    gen = torch.Generator().manual_seed(1)
    sampled = dist.sample(generator=gen)
    for a in (actions, sampled):
        torch.testing.assert_close(dist.log_prob(a), picked(ref, a), rtol=0, atol=1e-12)
    want_h = sum(-(lp.exp() * lp.nan_to_num(neginf=0.0)).sum(-1) for lp in ref)
    torch.testing.assert_close(dist.entropy(), want_h, rtol=0, atol=1e-12)
    w1, w2 = torch.randn(len(logits), dtype=torch.float64), torch.randn(len(logits))
    loss = (w1 * dist.log_prob(sampled) + w2 * dist.entropy()).sum()
    (ga,) = torch.autograd.grad(loss, logits)
    ref_loss = (w1 * picked(ref, sampled) + w2 * want_h).sum()
    (gb,) = torch.autograd.grad(ref_loss, logits)
    torch.testing.assert_close(ga, gb, rtol=0, atol=1e-10)
    assert (ga[~mask] == 0).all()  # illegal options: no gradient


def test_an_illegal_action_moves_no_illegal_logit():
    logits, mask = case(rows=8)
    dist = MaskedMultiCategorical(logits, mask, NVEC)
    col = int(torch.nonzero(~mask[0])[0, 0])  # an illegal option of row 0
    start, comp = 0, 0
    while col >= start + NVEC[comp]:
        start, comp = start + NVEC[comp], comp + 1
    actions = dist.mode.clone()
    actions[0, comp] = col - start
    (g,) = torch.autograd.grad(dist.log_prob(actions).sum(), logits)
    assert (g[~mask] == 0).all()


def test_samples_follow_the_probabilities_and_stay_legal():
    logits, mask = case(rows=1, seed=3)
    rows = 40_000
    dist = MaskedMultiCategorical(logits.detach().expand(rows, -1), mask.expand(rows, -1), NVEC)
    draws = dist.sample(generator=torch.Generator().manual_seed(2))
    ref, start = reference(logits.detach(), mask), 0
    for i, n in enumerate(NVEC):
        freq = torch.bincount(draws[:, i], minlength=n).double() / rows
        p = ref[i][0].exp()
        assert (freq[p == 0] == 0).all()
        # 5 standard errors of a binomial share
        assert ((freq - p).abs() <= 5 * (p * (1 - p) / rows).sqrt() + 1e-12).all()
        start += n


def test_a_first_use_in_inference_mode_does_not_spoil_later_training():
    nvec = (3, 7, 2)  # a layout no other test builds first
    with torch.inference_mode():
        MaskedMultiCategorical(torch.zeros(2, 12), torch.ones(2, 12, dtype=torch.bool), nvec)
    logits = torch.zeros(2, 12, requires_grad=True)
    dist = MaskedMultiCategorical(logits, torch.ones(2, 12, dtype=torch.bool), nvec)
    (g,) = torch.autograd.grad(dist.entropy().sum(), logits)
    assert torch.allclose(g, torch.zeros_like(g), atol=1e-6)  # uniform: entropy at its maximum


def test_int8_float_and_batched_masks_give_the_bool_masks_distribution():
    logits, mask = case(rows=24, seed=5)
    logits = logits.detach()
    want = MaskedMultiCategorical(logits, mask, NVEC)
    for other in (mask.to(torch.int8), mask.to(torch.float32)):
        got = MaskedMultiCategorical(logits, other, NVEC)
        assert torch.equal(got.legal, want.legal) and torch.equal(got.log_p, want.log_p)
    # leading dimensions (B, N, A), as the party role's masks come
    got = MaskedMultiCategorical(logits.view(4, 6, -1), mask.to(torch.int8).view(4, 6, -1), NVEC)
    assert torch.equal(got.log_p.reshape(want.log_p.shape), want.log_p)
    ref = reference(logits, mask)
    for i, n in enumerate(NVEC):  # the padding is illegal, the options as the mask says
        assert torch.equal(want.legal[:, i, :n], mask[:, sum(NVEC[:i]) : sum(NVEC[: i + 1])])
        assert not want.legal[:, i, n:].any()
        assert torch.allclose(want.log_p[:, i, :n].exp(), ref[i].exp())
