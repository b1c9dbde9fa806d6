"""negenv as a BenchMARL task: BenchMARL's MAPPO and IPPO on the batched env.

The task builds :class:`negenv.adapters.torchrl.NegotiationTorchRLEnv` (thousands of
negotiations per step, groups ``"party"`` and ``"mediator"``, ``"state"`` for centralised
critics) in its **continuous** action mode: BenchMARL's on-policy algorithms handle one
categorical action or continuous actions, not MultiDiscrete ones, so each component is a
float the env's codec rounds to its grid (see ``NegotiationEnv`` "Actions"). The YAML config
(``configs/benchmarl/<scenario>.yaml``) holds ``scenario`` and ``max_steps``.

BenchMARL 1.5.2 pins ``torchrl<0.12`` and ``torchvision``; it runs in its own virtual
environment (see ``docs/integrations/benchmarl.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarl.environments.common import Task, TaskClass
from torchrl.data import Composite
from torchrl.envs import EnvBase

from negenv.adapters.torchrl import NegotiationTorchRLEnv

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "benchmarl"


class NegotiationTaskClass(TaskClass):
    """A negenv scenario as a BenchMARL task; ``config``: ``scenario``, ``max_steps`` and any
    :class:`negenv.vector.VectorNegotiationEnv` scenario override."""

    def get_env_fun(
        self, num_envs: int, continuous_actions: bool, seed: int | None, device: Any
    ) -> Callable[[], EnvBase]:
        if not continuous_actions:
            raise ValueError(
                "negenv's discrete actions are MultiDiscrete, which BenchMARL's algorithms do "
                "not handle; run the task with continuous actions"
            )
        config = dict(self.config)
        scenario = config.pop("scenario")
        config.pop("max_steps", None)

        def make() -> EnvBase:
            env = NegotiationTorchRLEnv(
                scenario,
                num_envs=num_envs,
                device=device,
                action_mode="continuous",
                mediator_agent_dim=True,
                **config,
            )
            env.set_seed(0 if seed is None else seed)
            return env

        return make

    def supports_continuous_actions(self) -> bool:
        return True

    def supports_discrete_actions(self) -> bool:
        return False

    def has_render(self, env: EnvBase) -> bool:
        return False

    def max_steps(self, env: EnvBase) -> int:
        return int(self.config["max_steps"])

    def group_map(self, env: EnvBase) -> dict[str, list[str]]:
        lay = env.venv.layout
        groups = {"party": [f"party_{i}" for i in range(lay.n)]}
        if env.venv.scenario.mediated:
            groups["mediator"] = ["mediator"]
        return groups

    def observation_spec(self, env: EnvBase) -> Composite:
        spec = env.full_observation_spec_unbatched.clone()
        del spec["state"]
        for group in self.group_map(env):
            del spec[(group, "action_mask")]  # continuous actions: informative, not a mask
        return spec

    def info_spec(self, env: EnvBase) -> Composite | None:
        return None

    def state_spec(self, env: EnvBase) -> Composite | None:
        return Composite(state=env.full_observation_spec_unbatched["state"].clone())

    def action_spec(self, env: EnvBase) -> Composite:
        return env.full_action_spec_unbatched

    def action_mask_spec(self, env: EnvBase) -> Composite | None:
        return None

    @staticmethod
    def env_name() -> str:
        return "negenv"


class NegotiationTask(Task):
    """Shipped negenv tasks (configs in ``configs/benchmarl/``)."""

    MULTILATERAL_5 = None
    BILATERAL_ASYMMETRIC = None

    @staticmethod
    def associated_class():
        return NegotiationTaskClass

    def get_from_yaml(self, path: str | None = None) -> TaskClass:
        import yaml

        path = Path(path) if path else CONFIGS / f"{self.name.lower()}.yaml"
        return self.get_task(yaml.safe_load(path.read_text()))
