#!/usr/bin/env bash
# The league result of docs/robustness.md: a league on multilateral_5 that starts from the main job's
# mediator and guarantees_monitoring, scored against the union of held-out populations
# (scripted threshold, mixed, opportunistic, exploiters, and learned parties trained on
# seeds and against mediators the league never used) beside nbs_seen, nbs_full and the main
# job's mediator, then its exploitability. CPU, one torch thread per run. Every mediator here
# was trained with softplus text bells (--no-log-precision), as docs/robustness.md measured them.
set -euo pipefail
cd "$(dirname "$0")/.."
main=runs/multilateral_5-mediator-torch-s0/best.pt
[ -f "$main" ] || python train.py --threads 1 --no-log-precision # the main job, as measured
for pair in 7:guarantees_monitoring 11:power_centroid; do        # held-out learned parties
    s=${pair%:*}; m=${pair#*:}
    [ -f "runs/heldout-parties-s$s/best.pt" ] || python train.py \
        --config configs/train/parties_multilateral_5.yaml --mediator "$m" --seed "$s" \
        --total-steps 1000000 --scorecard-episodes 0 --threads 1 --name "heldout-parties-s$s"
done
python train.py --league --iterations 3 --mediators "$main" guarantees_monitoring \
    --populations threshold mixed --response-steps 1000000 --threads 1 --no-log-precision --name league-main \
    $([ -f runs/league-main/league.json ] && echo --resume)
python -m negenv.evaluate --mediator runs/league-main/mediator.mix.json --mediator nbs_seen \
    --mediator nbs_full --mediator "$main" --scenario multilateral_5 \
    --population threshold --population mixed --population opportunistic \
    --population exploiters --population runs/heldout-parties-s7/best.pt \
    --population runs/heldout-parties-s11/best.pt \
    --episodes 1000 --seed 2000003 --out reports/league-heldout --no-progress
python benchmarks/per_population.py reports/league-heldout
python -m negenv.exploit --mediator runs/league-main/mediator.mix.json --population mixed \
    --scenario multilateral_5 --ranks strongest median weakest weakest2 --steps 1000000 \
    --episodes 2000 --out reports/exploit/league-main.json
# the second league of docs/robustness.md: every scripted party population and nbs_seen in the
# meta-game from the start (about 50 min), scored on the same held-out union
python train.py --league --iterations 3 --mediators "$main" guarantees_monitoring nbs_seen \
    --populations threshold mixed opportunistic exploiters --response-steps 1000000 \
    --threads 1 --no-log-precision --name league-wide $([ -f runs/league-wide/league.json ] && echo --resume)
python -m negenv.evaluate --mediator runs/league-wide/mediator.mix.json --mediator nbs_seen \
    --mediator nbs_full --mediator "$main" --scenario multilateral_5 \
    --population threshold --population mixed --population opportunistic \
    --population exploiters --population runs/heldout-parties-s7/best.pt \
    --population runs/heldout-parties-s11/best.pt \
    --episodes 1000 --seed 2000003 --out reports/league-wide-heldout --no-progress
python benchmarks/per_population.py reports/league-wide-heldout
# the mediator trained on all four scripted populations (two seeds), and a league started
# from it, on the same held-out union, each paired with nbs_seen episode by episode
for s in 0 1; do
    [ -f "runs/mediator-union-s$s/best.pt" ] || python train.py \
        --config configs/train/mediator_union.yaml --seed "$s" --threads 1 --name "mediator-union-s$s"
done
python train.py --league --iterations 3 \
    --mediators runs/mediator-union-s0/best.pt guarantees_monitoring nbs_seen \
    --populations threshold mixed opportunistic exploiters --response-steps 1000000 \
    --threads 1 --no-log-precision --name league-union $([ -f runs/league-union/league.json ] && echo --resume)
for m in runs/mediator-union-s0/best.pt runs/mediator-union-s1/best.pt \
    runs/league-union/mediator.mix.json; do
    out=reports/heldout-$(echo "$m" | tr '/' '-')
    python -m negenv.evaluate --mediator "$m" --scenario multilateral_5 \
        --population threshold --population mixed --population opportunistic \
        --population exploiters --population runs/heldout-parties-s7/best.pt \
        --population runs/heldout-parties-s11/best.pt \
        --episodes 1000 --seed 2000003 --out "$out" --no-progress
    python benchmarks/paired_difference.py "$m" nbs_seen "$out" reports/league-wide-heldout
done
for m in runs/mediator-union-s0/best.pt runs/league-union/mediator.mix.json; do
    python -m negenv.exploit --mediator "$m" --population mixed --scenario multilateral_5 \
        --ranks strongest median weakest weakest2 --steps 1000000 --episodes 2000 \
        --out "reports/exploit/$(echo "$m" | tr '/' '-').json"
done
# the four-population recipe with log-precision bells (the default now), same union and pairing
for s in 0 1; do
    [ -f "runs/union-lp-s$s/best.pt" ] || python train.py \
        --config configs/train/mediator_union.yaml --log-precision --seed "$s" --threads 1 \
        --name "union-lp-s$s"
    python -m negenv.evaluate --mediator "runs/union-lp-s$s/best.pt" --scenario multilateral_5 \
        --population threshold --population mixed --population opportunistic \
        --population exploiters --population runs/heldout-parties-s7/best.pt \
        --population runs/heldout-parties-s11/best.pt \
        --episodes 1000 --seed 2000003 --out "reports/union-lp-s$s-heldout" --no-progress
    python benchmarks/paired_difference.py "runs/union-lp-s$s/best.pt" nbs_seen \
        "reports/union-lp-s$s-heldout" reports/league-wide-heldout
done
python -m negenv.exploit --mediator runs/union-lp-s0/best.pt --population mixed \
    --scenario multilateral_5 --ranks strongest weakest --steps 1000000 --episodes 2000 \
    --out reports/exploit/union-lp-s0.json
# leagues with the rescaled (converged) meta-game solver: plain PSRO, with warm-started
# responses, and warm-started with half of the mediator's episodes against the starting
# populations (--background-share 0.5), the last at three league seeds (seed 1 from the
# seed-1 mediator); each scored on the held-out union, paired with nbs_seen, and the
# background-share leagues' mediators' exploitability
python benchmarks/league_resolve.py runs/league-main runs/league-wide runs/league-union
bg="--warm-start --background-share 0.5"
# (bg, bg-s1 and bg-s2 ran before warm starts carried Adam's moments; bg-m, bg-s1m and
# bg-s2m are the same leagues after)
for variant in "lp:0::" "warm:0::--warm-start" "bg:0::$bg" "bg-s1:1:1:$bg" "bg-s2:0:2:$bg" \
    "bg-m:0::$bg" "bg-s1m:1:1:$bg" "bg-s2m:0:2:$bg"; do
    IFS=: read -r tag start seed flags <<< "$variant"
    name=league-union-$tag
    # shellcheck disable=SC2086
    python train.py --league --iterations 3 $flags --seed "${seed:-0}" \
        --mediators "runs/union-lp-s$start/best.pt" guarantees_monitoring nbs_seen \
        --populations threshold mixed opportunistic exploiters --response-steps 1000000 \
        --threads 1 --name "$name" $([ -f "runs/$name/league.json" ] && echo --resume)
    python -m negenv.evaluate --mediator "runs/$name/mediator.mix.json" --scenario multilateral_5 \
        --population threshold --population mixed --population opportunistic \
        --population exploiters --population runs/heldout-parties-s7/best.pt \
        --population runs/heldout-parties-s11/best.pt \
        --episodes 1000 --seed 2000003 --out "reports/$name-heldout" --no-progress
    python benchmarks/paired_difference.py "runs/$name/mediator.mix.json" nbs_seen \
        "reports/$name-heldout" reports/league-wide-heldout
    if [ "${tag:0:2}" = bg ]; then
        python -m negenv.exploit --mediator "runs/$name/mediator.mix.json" --population mixed \
            --scenario multilateral_5 --ranks strongest median weakest weakest2 \
            --steps 1000000 --episodes 2000 --out "reports/exploit/$name.json"
    fi
done
