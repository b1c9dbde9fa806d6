"""One torch thread per test process: pytest-xdist runs one worker per core, and two workers
each running two threads oversubscribe the cores (small tensors run several times slower)."""

import torch

torch.set_num_threads(1)
