"""Training: the run configuration, the two PPO backends and the run's logs (see ``train.py``)."""
