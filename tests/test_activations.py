"""agents.activations.tanh: the function and the gradient of torch.tanh, on either path."""

from __future__ import annotations

import pytest
import torch

from agents import activations
from agents.activations import MIN_ELEMENTS, Tanh, tanh, tanh_


def big(dtype=torch.float32, requires_grad=False) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(MIN_ELEMENTS * 2, generator=gen, dtype=dtype) * 4
    x[:4] = torch.tensor([0.0, 1e-8, -30.0, 30.0], dtype=dtype)  # zero, tiny, saturated
    return x.requires_grad_(requires_grad)


def test_large_tensors_match_torch_tanh_and_its_gradient():
    x = big(requires_grad=True)
    ours, theirs = tanh(x), torch.tanh(x)
    assert (ours - theirs).abs().max() < 3e-7
    assert ours[0] == 0.0 and ours[2] == -1.0 and ours[3] == 1.0
    g = torch.randn_like(x)
    (ga,) = torch.autograd.grad(ours, x, g)
    (gb,) = torch.autograd.grad(theirs, x, g)
    torch.testing.assert_close(ga, gb, rtol=0, atol=2e-6)


def test_float64_is_exact_to_rounding_and_passes_gradcheck():
    x = big(torch.float64)
    assert (tanh(x) - torch.tanh(x)).abs().max() < 1e-15
    small = torch.randn(8, dtype=torch.float64, requires_grad=True)
    fn = activations._SigmoidTanh.apply  # the identity path whatever the size
    assert torch.autograd.gradcheck(lambda y: fn(y, False), (small,))


def test_small_tensors_are_torch_tanh_bit_for_bit():
    x = torch.randn(MIN_ELEMENTS - 1)
    assert torch.equal(tanh(x), torch.tanh(x))
    assert torch.equal(tanh_(x.clone()), torch.tanh(x))


@pytest.mark.parametrize("size", [16, MIN_ELEMENTS * 2])
def test_in_place_writes_the_input_and_keeps_the_gradient(size):
    x = torch.randn(size, requires_grad=True)
    y = x * 1.0  # a temporary, as in the set actor
    out = tanh(y, inplace=True)
    assert out.data_ptr() == y.data_ptr()
    (g,) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(g, 1 - torch.tanh(x.detach()) ** 2, rtol=0, atol=2e-6)
    z = x.detach().clone()
    assert tanh_(z).data_ptr() == z.data_ptr()
    assert (z - torch.tanh(x.detach())).abs().max() < 3e-7


def test_module_has_no_state_and_swaps_for_nn_tanh():
    seq = torch.nn.Sequential(torch.nn.Linear(3, 4), Tanh())
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
    assert seq.state_dict().keys() == ref.state_dict().keys()
    ref.load_state_dict(seq.state_dict())
    x = torch.randn(MIN_ELEMENTS, 3)
    assert (seq(x) - ref(x)).abs().max() < 3e-7


def test_low_precision_tensors_take_torch_tanh():
    # 2 sigmoid(2x) - 1 from a bfloat16 sigmoid keeps only 2-3 bits of a small tanh
    x = torch.linspace(-1e-2, 1e-2, 2 * MIN_ELEMENTS).to(torch.bfloat16)
    assert torch.equal(tanh(x), torch.tanh(x))
    assert torch.equal(tanh_(x.clone()), torch.tanh(x))
