"""Policies for negenv, scripted or learned, behind one batched interface.

A policy maps a batch of observations (M, D) and action masks (M, A) to actions (M, ...);
:func:`act` drives a dict of policies on a PettingZoo env, one batch per policy.
"""

from agents.base import Policy, act, legalise
from agents.mediators import SplitTheDifferenceMediator
from agents.parties import ThresholdParty
from agents.random_policy import RandomPolicy

__all__ = [
    "Policy",
    "RandomPolicy",
    "SplitTheDifferenceMediator",
    "ThresholdParty",
    "act",
    "legalise",
]
