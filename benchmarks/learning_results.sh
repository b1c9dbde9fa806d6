#!/usr/bin/env bash
# The learning results of the README and docs/results.md, run by run (CPU, 2 cores: the
# parties and Rubinstein runs take a few minutes each, the long mediator run about 20 on idle cores).
set -euo pipefail
cd "$(dirname "$0")/.."
python train.py                                                    # the README's main job
python benchmarks/per_population.py runs/multilateral_5-mediator-torch-s0/scorecard
for s in 1 2; do python train.py --seed "$s"; done                  # two more training seeds
for s in 0 1 2; do                                                 # softplus bells, as before
    python train.py --seed "$s" --no-log-precision --name "softplus-s$s"
done
python -m negenv.evaluate --mediator runs/softplus-s0/best.pt --scenario lilliput \
    --scenario burden_sharing --population threshold --population mixed \
    --episodes 2000 --seed 2000003 --out runs/transfer --no-progress   # the softplus column
python benchmarks/per_population.py runs/transfer
python benchmarks/paired_difference.py runs/multilateral_5-mediator-torch-s0/best.pt \
    runs/softplus-s0/best.pt runs/multilateral_5-mediator-torch-s0/scorecard runs/softplus-s0/scorecard
python benchmarks/paired_difference.py runs/multilateral_5-mediator-torch-s0/best.pt nbs_seen \
    runs/multilateral_5-mediator-torch-s0/scorecard
python -m negenv.evaluate --mediator runs/multilateral_5-mediator-torch-s0/best.pt \
    --mediator nbs_seen --mediator power_centroid --mediator guarantees_monitoring \
    --mediator nbs_signals --mediator random --mediator nbs_full \
    --scenario lilliput --scenario burden_sharing --population threshold --population mixed \
    --episodes 2000 --seed 2000003 --out runs/transfer-lp --no-progress   # no retraining
python benchmarks/per_population.py runs/transfer-lp
python benchmarks/mediator_incentives.py --episodes 4000           # can parties game it?
python benchmarks/mediator_incentives.py --episodes 4000 --mediator runs/softplus-s0/best.pt \
    --mediator nbs_seen                                            # the incentives table of docs/results.md (softplus)
python train.py --config configs/train/mediator_multilateral_5_long.yaml   # add --threads 1 beside other work
for m in guarantees_monitoring_off guarantees_monitoring; do      # parties that learn
    python train.py --config configs/train/parties_multilateral_5.yaml --mediator "$m" \
        --name "parties-multilateral_5-$m"
done
for d in 0.5 0.8 0.9 0.95; do                                      # the Rubinstein table
    python train.py --config configs/train/rubinstein.yaml --scenario-overrides "discount=$d" \
        --name "rubinstein-$d"
done
for pair in 0.5:7 0.8:21; do                                        # subgame starts, annealed
    d=${pair%:*}; g=${pair#*:}
    python train.py --config configs/train/rubinstein.yaml --scenario-overrides "discount=$d" \
        --subgames "$g" --anneal --total-steps 2000000 --name "rubinstein-subgames-$d"
done
for pair in 0.5:7 0.8:21 0.9:43 0.95:49; do                      # ordinal texts as well
    d=${pair%:*}; g=${pair#*:}
    python train.py --config configs/train/rubinstein.yaml --scenario-overrides "discount=$d" \
        --party-actor ordinal --subgames "$g" --anneal --threads 1 --name "rubinstein-ordinal-$d"
done
for pair in 0.5:7 0.8:21 0.9:43 0.95:49; do                      # and in round units
    d=${pair%:*}; g=${pair#*:}
    python train.py --config configs/train/rubinstein.yaml --scenario-overrides "discount=$d" \
        --party-actor ordinal --subgames "$g" --anneal --round-units --threads 1 \
        --name "rubinstein-units-$d"
done
for d in 0.5 0.8 0.9 0.95; do                                      # ego view, backward starts
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --threads 1 --name "rubinstein-ego-$d"
done
for d in 0.5 0.8 0.9 0.95; do                                      # ablation: backward starts
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --backward 0.7 --threads 1 --name "rubinstein-ego-back-$d"
done
for d in 0.5 0.9; do                                                # ablation: no ego view
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --backward 0.7 --party-actor ordinal --threads 1 --name "abl-ordinal-$d"
done
for d in 0.5 0.95; do                                              # twice the budget, and
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --total-steps 6000000 --threads 1 --name "rb-ego6m-$d"        # the entropy ending early
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --total-steps 6000000 --entropy-end 0.6 --threads 1 --name "rb-ent06-$d"
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --total-steps 6000000 --entropy-end 0.3 --threads 1 --name "rb-ent03-$d"
done
python benchmarks/rubinstein_table.py runs/rb-ego6m-0.5 runs/rb-ent06-0.5 runs/rb-ent03-0.5 \
    runs/rb-ego6m-0.95 runs/rb-ent06-0.95 runs/rb-ent03-0.95
python benchmarks/rubinstein_probe.py runs/rb-ego6m-0.5            # why the proposer asks less
for d in 0.5 0.8 0.9 0.95; do                                      # the bell's log precision
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --log-precision --threads 1 --name "lp-$d"
done
for d in 0.5 0.95; do                                              # devices for the responders
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --log-precision --entropy-end 0.5 --threads 1 --name "lpe5-$d"
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --log-precision --threshold-votes --threads 1 --name "tv-$d"
done
python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides discount=0.5 \
    --log-precision --sample-share 0.5 --threads 1 --name ss-0.5
python benchmarks/rubinstein_table.py runs/lp-0.5 runs/lp-0.8 runs/lp-0.9 runs/lp-0.95 \
    runs/lpe5-0.5 runs/lpe5-0.95 runs/tv-0.5 runs/tv-0.95 runs/ss-0.5
python benchmarks/rubinstein_probe.py runs/lp-0.5
for d in 0.5 0.8 0.9 0.95; do                                      # twice the budget
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides "discount=$d" \
        --log-precision --total-steps 6000000 --threads 1 --name "lp6m-$d"
done
python benchmarks/rubinstein_table.py runs/lp6m-0.5 runs/lp6m-0.8 runs/lp6m-0.9 runs/lp6m-0.95
python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides discount=0.9 \
    --log-precision --total-steps 6000000 --seed 1 --threads 1 --name lp6m-0.9-s1   # a second seed
python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides discount=0.9 \
    --log-precision --total-steps 12000000 --threads 1 --name lp12m-0.9            # four times the budget
python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides discount=0.95 \
    --log-precision --total-steps 12000000 --threads 1 --name lp12m-0.95
python benchmarks/rubinstein_table.py runs/lp6m-0.9 runs/lp6m-0.9-s1 runs/lp12m-0.9 \
    runs/lp6m-0.95 runs/lp12m-0.95
for d in 0.9 0.95; do                                               # the seat kept in view
    python train.py --config configs/train/rubinstein_ego.yaml --scenario-overrides discount=$d \
        --log-precision --ego-seat --total-steps 12000000 --threads 1 --name seat12m-$d
done
python benchmarks/rubinstein_table.py runs/seat12m-0.9 runs/seat12m-0.95
python benchmarks/rubinstein_probe.py runs/lp6m-0.5
python benchmarks/rubinstein_table.py runs/rubinstein-ego-0.5 runs/rubinstein-ego-0.8 \
    runs/rubinstein-ego-0.9 runs/rubinstein-ego-0.95 runs/rubinstein-ego-back-0.5 \
    runs/rubinstein-ego-back-0.8 runs/rubinstein-ego-back-0.9 runs/rubinstein-ego-back-0.95 \
    runs/abl-ordinal-0.5 runs/abl-ordinal-0.9
python benchmarks/rubinstein_table.py runs/rubinstein-units-0.5 runs/rubinstein-units-0.8 \
    runs/rubinstein-units-0.9 runs/rubinstein-units-0.95
python benchmarks/rubinstein_table.py runs/rubinstein-ordinal-0.5 runs/rubinstein-ordinal-0.8 \
    runs/rubinstein-ordinal-0.9 runs/rubinstein-ordinal-0.95
python benchmarks/rubinstein_table.py runs/rubinstein-0.5 runs/rubinstein-0.8 \
    runs/rubinstein-0.9 runs/rubinstein-0.95 runs/rubinstein-subgames-0.5 \
    runs/rubinstein-subgames-0.8                                    # exact NashConv of each
python benchmarks/bench_train.py --mediator-actor set --compile      # torch vs sb3 throughput
# fine-tuning the main job's mediator on lilliput (its critic starts fresh) against training there
python train.py --scenario lilliput --total-steps 1000000 --threads 1 --scorecard-episodes 0 \
    --name lil-scratch
python train.py --scenario lilliput --total-steps 1000000 --threads 1 --scorecard-episodes 0 \
    --init-from runs/mainlp-s0/best.pt --name lil-mom-w0
python -m negenv.evaluate --mediator runs/mainlp-s0/best.pt --mediator runs/lil-scratch/best.pt \
    --mediator runs/lil-mom-w0/best.pt --mediator nbs_seen --scenario lilliput \
    --population threshold --population mixed --episodes 1000 --seed 2000003 \
    --out reports/lilliput-transfer --no-progress
for m in runs/lil-scratch/best.pt runs/lil-mom-w0/best.pt nbs_seen; do
    python benchmarks/paired_difference.py "$m" runs/mainlp-s0/best.pt reports/lilliput-transfer
done
